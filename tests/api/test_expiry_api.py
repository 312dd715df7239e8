"""Point expiry through the API on a real anvil + indexer: the policy, a member's lots by expiry,
the members whose points expire soon, and who may see or change what.

Each test onboards its own brands (1-day epochs) so that policies set here never touch acme and
beta, which the other API tests use.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from api.mirror import iso
from loyalty_ledger import ledger
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import deploy_network
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.expiry import Clock
from loyalty_ledger.ledger import lots

from .conftest import OPERATOR_KEY, Env, _make_env, onboard_brand

pytestmark = pytest.mark.chain

DAY = 86_400


def _brand_maker(env: Env) -> Callable[[], str]:
    def make() -> str:
        bid = f"exp-{uuid.uuid4().hex[:8]}"
        onboard_brand(env, bid, epoch_length=DAY)
        return bid

    return make


@pytest.fixture
def new_brand(env: Env) -> Callable[[], str]:
    return _brand_maker(env)


def _set_policy(env: Env, brand: str, epochs: int) -> dict[str, Any]:
    r = env.client.put(
        f"/brands/{brand}/expiry-policy", json={"epochs": epochs}, headers=env.h(f"{brand}:issuer")
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _issue(env: Env, brand: str, member: LocalAccount, amount: int) -> int:
    """Issue points; returns the block's timestamp."""
    rc = ledger.issue_points(
        sender=env.state.sender("brand"),
        program=env.deployment.program(brand),
        member=member.address,
        amount=amount,
        reason="signup",
        ref="expiry-test",
    )
    return int(env.w3.eth.get_block(rc.block_number)["timestamp"])


def _clock(env: Env, brand: str) -> Clock:
    return lots.clock_of(w3=env.w3, program=env.deployment.program(brand))


def _lot(clock: Clock, epoch: int, amount: int) -> dict[str, Any]:
    start = clock.start(epoch)
    return {
        "expiry_epoch": epoch,
        "expires_at": iso(start),
        "expires_at_unix": start,
        "amount": amount,
    }


def test_policy_then_lots_by_expiry(env: Env, new_brand: Callable[[], str]) -> None:
    brand = new_brand()
    r = env.client.get(f"/brands/{brand}/expiry-policy", headers=env.h(f"{brand}:viewer"))
    assert r.status_code == 200, r.text
    start = r.json()
    assert start["validity_epochs"] == 0 and start["epoch_length"] == DAY
    assert start["epoch_zero"] % DAY == 0 and start["points_issued_now_expire_at"] is None

    set2 = _set_policy(env, brand, 2)
    assert set2["validity_epochs"] == 2 and set2["status"] == "confirmed" and set2["tx_hash"]
    clock = _clock(env, brand)
    r = env.client.get(f"/brands/{brand}/expiry-policy", headers=env.h(f"{brand}:viewer"))
    now = r.json()["current_epoch"]
    assert r.json()["points_issued_now_expire_at"] == iso(clock.start(now + 2))
    assert r.json()["next_epoch_start"] == iso(clock.start(now + 1))
    member = env.new_member()
    x1 = clock.epoch(_issue(env, brand, member, 100)) + 2
    _set_policy(env, brand, 5)
    x2 = clock.epoch(_issue(env, brand, member, 50)) + 5
    _set_policy(env, brand, 0)
    _issue(env, brand, member, 7)  # never expires
    env.index()

    got = env.client.get(
        f"/customers/{member.address}/points/expiry",
        params={"brand": brand},
        headers=env.sign_in(member),
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["lots"] == [_lot(clock, x1, 100), _lot(clock, x2, 50)]
    assert (body["permanent"], body["total"]) == (7, 157)
    assert body["as_of_block"] == env.w3.eth.block_number and body["brand_id"] == brand
    # the chain agrees with the mirror
    chain = lots.lots_of(w3=env.w3, program=env.deployment.program(brand), member=member.address)
    assert [(lot.expiry_epoch, lot.amount) for lot in chain.lots] == [(x1, 100), (x2, 50)]
    assert chain.permanent == 7
    # the brand's own keys, the operator and auditors read it too
    for who in (f"{brand}:viewer", "operator", "auditor"):
        r = env.client.get(
            f"/customers/{member.address}/points/expiry",
            params={"brand": brand},
            headers=env.h(who),
        )
        assert r.status_code == 200 and r.json()["total"] == 157, (who, r.text)


def test_expiring_within_days(any_env: Env) -> None:
    env = any_env  # the mirror on SQLite and on PostgreSQL
    new_brand = _brand_maker(env)
    brand, other = new_brand(), new_brand()
    clock = _clock(env, brand)
    m1, m2, m3, m4 = (env.new_member() for _ in range(4))
    _set_policy(env, brand, 2)
    soon1 = clock.epoch(_issue(env, brand, m1, 30)) + 2
    soon2 = clock.epoch(_issue(env, brand, m2, 20)) + 2
    _set_policy(env, brand, 6)
    later = clock.epoch(_issue(env, brand, m1, 40)) + 6
    _set_policy(env, brand, 0)
    _issue(env, brand, m3, 500)  # permanent: never listed
    _set_policy(env, other, 1)
    _issue(env, other, m1, 99)  # another brand's lots: never in this brand's list
    _issue(env, other, m4, 11)
    env.index()

    def expiring(**params: Any) -> dict[str, Any]:
        r = env.client.get(
            f"/brands/{brand}/expiring", params=params, headers=env.h(f"{brand}:viewer")
        )
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def rows(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
        return {r["member"]: (r["amount"], r["soonest_expiry_unix"]) for r in body["members"]}

    # A lot expiring at the start of epoch now + k is gone within (k - 1, k] days.
    two = expiring(days=2)
    assert rows(two) == {m1.address: (30, clock.start(soon1)), m2.address: (20, clock.start(soon2))}
    assert (two["members_total"], two["points_total"], two["next_after"]) == (2, 50, None)
    assert rows(expiring(days=5)) == rows(two)  # the 6-epoch lot is more than 5 days away
    six = expiring(days=6)
    assert rows(six)[m1.address] == (70, clock.start(soon1)) and six["points_total"] == 90
    assert clock.start(later) > clock.start(soon1)
    assert rows(expiring())[m2.address][0] == 20  # default: 30 days
    # pages by address
    first = expiring(days=6, limit=1)
    assert len(first["members"]) == 1 and first["next_after"] == first["members"][0]["member"]
    second = expiring(days=6, limit=1, after=first["next_after"])
    assert second["next_after"] is None
    assert {first["members"][0]["member"], second["members"][0]["member"]} == {
        m1.address,
        m2.address,
    }
    assert sorted([m1.address.lower(), m2.address.lower()])[0] == first["next_after"].lower()
    # the other brand's list has its own members only
    r = env.client.get(f"/brands/{other}/expiring", params={"days": 1}, headers=env.h("operator"))
    assert {m: a for m, (a, _t) in rows(r.json()).items()} == {m1.address: 99, m4.address: 11}
    for bad in ({"days": 0}, {"days": 367}, {"days": "x"}, {"limit": 0}, {"after": "0x12"}):
        r = env.client.get(
            f"/brands/{brand}/expiring", params=bad, headers=env.h(f"{brand}:viewer")
        )
        assert r.status_code == 422 and "error" in r.json(), (bad, r.text)


def test_auth_refusals(env: Env, new_brand: Callable[[], str]) -> None:
    brand, other = new_brand(), new_brand()
    member, stranger = env.new_member(), env.new_member()
    me, them = env.sign_in(member), env.sign_in(stranger)
    url = f"/customers/{member.address}/points/expiry"
    q = {"brand": brand}
    assert env.client.get(url, params=q).status_code == 401
    assert env.client.get(url, params=q, headers=them).status_code == 403
    assert env.client.get(url, params=q, headers=env.h(f"{other}:viewer")).status_code == 403
    assert env.client.get(url, params=q, headers=me).status_code == 200
    assert env.client.get(url, params={"brand": "nope"}, headers=me).status_code == 404
    assert env.client.get(url, headers=me).status_code == 422  # which brand?

    exp = f"/brands/{brand}/expiring"
    assert env.client.get(exp).status_code == 401
    assert env.client.get(exp, headers=me).status_code == 403
    assert env.client.get(exp, headers=env.h(f"{other}:all")).status_code == 403
    assert env.client.get(exp, headers=env.h("auditor")).status_code == 200
    assert env.client.get("/brands/nope/expiring", headers=env.h("operator")).status_code == 404

    pol = f"/brands/{brand}/expiry-policy"
    assert env.client.get(pol, headers=me).status_code == 403
    for h in ({}, me, env.h(f"{brand}:viewer"), env.h(f"{other}:issuer")):
        r = env.client.put(pol, json={"epochs": 3}, headers=h)
        assert r.status_code in (401, 403), (h, r.text)
    ok = env.h(f"{brand}:issuer")
    for body in ({"epochs": 1001}, {"epochs": -1}, {"epochs": "3"}, {"epochs": 3, "x": 1}, {}):
        r = env.client.put(pol, json=body, headers=ok)
        assert r.status_code == 422 and r.json()["error"] == "validation_error", (body, r.text)
    r = env.client.put(
        pol, content=b'{"epochs": ', headers=ok | {"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"
    assert (
        env.client.put(
            "/brands/nope/expiry-policy", json={"epochs": 1}, headers=env.h("operator")
        ).status_code
        == 404
    )
    # nothing above changed the policy
    assert env.client.get(pol, headers=ok).json()["validity_epochs"] == 0


@pytest.fixture(scope="module")
def warp_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """A chain of its own (this test moves its clock), with the API and indexer on it."""
    tmp = tmp_path_factory.mktemp("warp")
    with Anvil(port=0) as node:
        w3 = connect(node.url)
        dep = deploy_network(w3, Sender(w3, OPERATOR_KEY, decoder=error_decoder()))
        dep.save(tmp / "deployment.json")
        env = _make_env(f"sqlite:///{tmp / 'warp.db'}", tmp / "deployment.json", node, w3, tmp)
        onboard_brand(env, "warp", epoch_length=DAY)
        yield env


def test_points_leave_when_their_lot_expires(warp_env: Env) -> None:
    env = warp_env
    clock = _clock(env, "warp")
    member = env.new_member()
    _set_policy(env, "warp", 1)
    x = clock.epoch(_issue(env, "warp", member, 100)) + 1
    _set_policy(env, "warp", 0)
    _issue(env, "warp", member, 5)
    env.index()
    h = env.sign_in(member)
    url, q = f"/customers/{member.address}/points/expiry", {"brand": "warp"}
    before = env.client.get(url, params=q, headers=h).json()
    assert before["lots"] == [_lot(clock, x, 100)] and before["total"] == 105

    # into epoch x: the lot dies with no transaction; the mirror sweeps it at the next block
    head = int(env.w3.eth.get_block("latest")["timestamp"])
    env.w3.provider.make_request("evm_increaseTime", [clock.start(x) - head + 60])  # type: ignore[arg-type]
    env.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    env.index()
    after = env.client.get(url, params=q, headers=h).json()
    assert (after["lots"], after["permanent"], after["total"]) == ([], 5, 5)
    assert (
        ledger.balance_of(w3=env.w3, program=env.deployment.program("warp"), member=member.address)
        == 5
    )
    soon = env.client.get("/brands/warp/expiring", headers=env.h("warp:viewer")).json()
    assert soon["members"] == [] and soon["points_total"] == 0

    # the insights count it as expired, and the books still balance
    expired_on = datetime.fromtimestamp(clock.start(x), UTC)
    period = {
        "from": (expired_on - timedelta(days=40)).strftime("%Y-%m-%d"),
        "to": (expired_on + timedelta(days=40)).strftime("%Y-%m-%d"),
    }
    r = env.client.get("/brands/warp/insights/points", params=period, headers=env.h("warp:viewer"))
    assert r.status_code == 200, r.text
    pts = r.json()
    assert (pts["issued"], pts["expired"], pts["outstanding_liability"]) == (105, 100, 5)
    assert pts["breakage_rate"] == 100 / 105 and pts["books"]["balanced"]
    assert (pts["flows"]["issued"], pts["flows"]["expired"]) == (105, 100)
