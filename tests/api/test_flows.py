"""Full flows on a real anvil + indexer: sign in, eligibility, redeem, gift, earn, passes, admin."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from loyalty_ledger import ledger
from loyalty_ledger.ledger import passes

from .conftest import Env, sign_typed

pytestmark = pytest.mark.chain

ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _perk(env: Env, **fields: object) -> dict:
    body = {"name": f"perk-{uuid.uuid4().hex[:8]}", **fields}
    r = env.client.post("/brands/acme/perks", json=body, headers=env.h("acme:perk_manager"))
    assert r.status_code == 201, r.text
    return r.json()


def _balance(env: Env, addr: str, brand: str = "acme") -> int:
    return ledger.balance_of(w3=env.w3, program=env.deployment.program(brand), member=addr)


def test_sign_in_then_me(env: Env) -> None:
    alice = env.new_member()
    h = env.sign_in(alice)
    me = env.client.get("/auth/me", headers=h).json()
    assert me == {"kind": "customer", "address": alice.address, "brand_id": None, "roles": []}


def test_eligibility_reasons_and_block(env: Env) -> None:
    rich, poor = env.new_member(points=120), env.new_member(points=10)
    outsider = env.new_member(register=False)
    perk = _perk(env, min_points=50, point_cost=30, min_tier=1)
    env.index()
    r = env.client.post(
        f"/perks/{perk['id']}/eligibility",
        json={"addresses": [rich.address, poor.address, outsider.address]},
        headers=env.h("acme:viewer"),
    )
    assert r.status_code == 200, r.text
    res = {e["address"]: e for e in r.json()}
    head = env.w3.eth.block_number
    assert all(e["as_of_block"] == head for e in res.values())
    assert {x["code"] for x in res[rich.address]["reasons"]} == {"no_pass"}
    assert {x["code"] for x in res[poor.address]["reasons"]} == {"no_pass", "insufficient_points"}
    assert {x["code"] for x in res[outsider.address]["reasons"]} == {
        "no_pass",
        "insufficient_points",
        "not_a_member",
    }
    # a Gold pass makes `rich` eligible; strict mode sees it before the mirror does
    passes.issue_pass(
        sender=env.state.sender("brand"),
        program=env.deployment.program("acme"),
        member=rich.address,
        tier=1,
    )
    url = f"/perks/{perk['id']}/eligibility/{rich.address}"
    assert env.client.get(url, headers=env.h("acme:viewer")).json()["eligible"] is False
    strict = env.client.get(url + "?strict=true", headers=env.h("acme:viewer")).json()
    assert strict["eligible"] is True and strict["strict"] is True
    assert strict["as_of_block"] == env.w3.eth.block_number
    env.index()
    assert env.client.get(url, headers=env.h("acme:viewer")).json()["eligible"] is True


def test_redeem_with_forward_request_is_idempotent(env: Env) -> None:
    alice = env.new_member(points=100)
    perk = _perk(env, point_cost=30, per_member_limit=1, total_stock=5)
    env.index()
    h = env.sign_in(alice)
    typed = env.client.post(f"/perks/{perk['id']}/redeem/prepare", json={}, headers=h)
    assert typed.status_code == 200, typed.text
    body = {
        "forward": {
            "message": typed.json()["message"],
            "signature": sign_typed(alice, typed.json()),
        }
    }
    hk = {**h, "Idempotency-Key": "order-1"}
    r = env.client.post(f"/perks/{perk['id']}/redeem", json=body, headers=hk)
    assert r.status_code == 200, r.text
    red = r.json()
    assert red["status"] == "confirmed" and red["tx_hash"].startswith("0x")
    assert _balance(env, alice.address) == 70
    again = env.client.post(f"/perks/{perk['id']}/redeem", json=body, headers=hk)
    assert again.status_code == 200 and again.json()["id"] == red["id"]
    assert again.json()["replayed"] is True
    assert _balance(env, alice.address) == 70
    # the per-member limit is 1: a new key is refused before anything is signed or sent
    r2 = env.client.post(
        f"/perks/{perk['id']}/redeem", json=body, headers={**h, "Idempotency-Key": "order-2"}
    )
    assert r2.status_code == 409 and r2.json()["error"] == "not_eligible"
    assert "limit_reached" in {x["code"] for x in r2.json()["reasons"]}
    env.index()
    hist = env.client.get(f"/customers/{alice.address}/history?brand=acme", headers=h).json()
    assert hist["entries"][0]["kind"] == "redeem" and hist["entries"][0]["amount"] == 30
    # a person reads the perk's name and the date, not "perk:7" and a block number
    assert hist["entries"][0]["note"] == f"perk: {perk['name']}"
    assert ISO_TIME.fullmatch(hist["entries"][0]["time"])
    perk_now = env.client.get(f"/perks/{perk['id']}", headers=h).json()
    assert perk_now["redeemed_count"] == 1
    reds = env.client.get("/brands/acme/redemptions", headers=env.h("acme:viewer")).json()
    assert any(x["id"] == red["id"] and x["status"] == "confirmed" for x in reds)


def test_redeem_with_permit_by_brand_redeemer(env: Env) -> None:
    bob = env.new_member(points=50)
    perk = _perk(env, point_cost=20)
    env.index()
    typed = env.client.post(
        f"/perks/{perk['id']}/redeem/prepare",
        json={"method": "permit", "member": bob.address},
        headers=env.h("acme:redeemer"),
    ).json()
    body = {
        "member": bob.address,
        "permit": {"message": typed["message"], "signature": sign_typed(bob, typed)},
    }
    r = env.client.post(
        f"/perks/{perk['id']}/redeem",
        json=body,
        headers={**env.h("acme:redeemer"), "Idempotency-Key": "p1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["method"] == "permit" and _balance(env, bob.address) == 30


def test_redeem_signed_for_other_amount_is_refused(env: Env) -> None:
    carol = env.new_member(points=100)
    cheap, dear = _perk(env, point_cost=5), _perk(env, point_cost=40)
    env.index()
    h = env.sign_in(carol)
    typed = env.client.post(f"/perks/{cheap['id']}/redeem/prepare", json={}, headers=h).json()
    body = {"forward": {"message": typed["message"], "signature": sign_typed(carol, typed)}}
    r = env.client.post(
        f"/perks/{dear['id']}/redeem", json=body, headers={**h, "Idempotency-Key": "x"}
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"
    assert _balance(env, carol.address) == 100
    assert env.client.get(f"/perks/{dear['id']}", headers=h).json()["redeemed_count"] == 0


def test_gift_and_transfer_gasless(env: Env) -> None:
    alice, bob = env.new_member(points=60), env.new_member()
    h = env.sign_in(alice)
    assert env.w3.eth.get_balance(alice.address) == 0  # no ETH needed
    for kind, amount in (("gift", 15), ("transfer", 5)):
        typed = env.client.post(
            f"/customers/{alice.address}/transfers/prepare",
            json={
                "brand_id": "acme",
                "kind": kind,
                "to": bob.address,
                "amount": amount,
                "memo": "enjoy" if kind == "gift" else "",
            },
            headers=h,
        )
        assert typed.status_code == 200, typed.text
        r = env.client.post(
            f"/customers/{alice.address}/transfers",
            json={
                "brand_id": "acme",
                "message": typed.json()["message"],
                "signature": sign_typed(alice, typed.json()),
            },
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "confirmed" and r.json()["tx_hash"].startswith("0x")
    assert _balance(env, alice.address) == 40 and _balance(env, bob.address) == 20
    # the same signed request again is the same operation: relayed once, never twice
    first = r.json()
    r = env.client.post(
        f"/customers/{alice.address}/transfers",
        json={
            "brand_id": "acme",
            "message": typed.json()["message"],
            "signature": sign_typed(alice, typed.json()),
        },
        headers=h,
    )
    assert r.status_code == 200 and r.json()["tx_hash"] == first["tx_hash"], r.text
    assert r.json()["operation"]["id"] == first["operation"]["id"]
    assert _balance(env, alice.address) == 40 and _balance(env, bob.address) == 20
    # over-spending is refused before anything is signed
    r = env.client.post(
        f"/customers/{alice.address}/transfers/prepare",
        json={"brand_id": "acme", "to": bob.address, "amount": 1000},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["error"] == "insufficient_points"
    env.index()
    s = env.client.get(f"/customers/{bob.address}", headers=env.sign_in(bob)).json()
    assert s["programs"][0] == {"brand_id": "acme", "balance": 20, "pass": None}
    hb = env.sign_in(bob)
    got = env.client.get(f"/customers/{bob.address}/history?brand=acme", headers=hb).json()
    assert [(e["kind"], e["note"]) for e in got["entries"][:2]] == [
        ("transfer", ""),
        ("gift", "enjoy"),
    ]
    led = env.client.get("/brands/acme/ledger?limit=5", headers=env.h("acme:viewer")).json()
    assert all(ISO_TIME.fullmatch(e["time"]) for e in led["entries"])


def test_earn_purchase_once_per_order(env: Env) -> None:
    m = env.new_member()
    order = f"ord-{uuid.uuid4().hex[:8]}"
    body = {
        "member": m.address,
        "order_id": order,
        "amount": 255_000,
        "currency": "VND",
        "items": 3,
    }
    r1 = env.client.post("/brands/acme/earn/purchase", json=body, headers=env.h("acme:issuer"))
    assert r1.status_code == 200, r1.text
    assert r1.json()["points"] == 25 and r1.json()["duplicate"] is False
    assert r1.json()["order_amount"] == 255_000 and r1.json()["items_count"] == 3
    r2 = env.client.post("/brands/acme/earn/purchase", json=body, headers=env.h("acme:issuer"))
    assert r2.status_code == 200 and r2.json()["duplicate"] is True
    assert r2.json()["id"] == r1.json()["id"]
    assert _balance(env, m.address) == 25
    # amounts are integers only
    bad = {**body, "order_id": "o-float", "amount": 2.5}
    assert (
        env.client.post(
            "/brands/acme/earn/purchase", json=bad, headers=env.h("acme:issuer")
        ).status_code
        == 422
    )
    # a failed chain tx (unregistered member) releases the claim, so a retry can succeed
    stranger = env.new_member(register=False)
    body2 = {**body, "member": stranger.address, "order_id": order + "-s"}
    r3 = env.client.post("/brands/acme/earn/purchase", json=body2, headers=env.h("acme:issuer"))
    assert r3.status_code == 409 and r3.json()["error"] == "not_a_member"
    ledger.register_member(
        sender=env.state.sender("operator"), deployment=env.deployment, member=stranger.address
    )
    r4 = env.client.post("/brands/acme/earn/purchase", json=body2, headers=env.h("acme:issuer"))
    assert r4.status_code == 200 and r4.json()["duplicate"] is False


def test_earn_actions_rule_and_batch(env: Env) -> None:
    a, b, newbie = env.new_member(), env.new_member(), env.new_member()
    rule = {"currency": "VND", "amount_per_point": 1000, "bonuses": {"review": 7, "referral": 11}}
    assert (
        env.client.put(
            "/brands/beta/earn-rule", json=rule, headers=env.h("beta:issuer")
        ).status_code
        == 200
    )
    hdr = env.h("beta:issuer")
    r = env.client.post(
        "/brands/beta/earn/action",
        json={"member": a.address, "action": "referral", "action_id": newbie.address},
        headers=hdr,
    )
    assert r.status_code == 200 and r.json()["points"] == 11, r.text
    r = env.client.post(
        "/brands/beta/earn/action",
        json={"member": a.address, "action": "referral", "action_id": newbie.address},
        headers=hdr,
    )
    assert r.json()["duplicate"] is True
    orders = [
        {
            "member": m.address,
            "order_id": f"b-{uuid.uuid4().hex[:6]}",
            "amount": 12_345,
            "currency": "vnd",
            "items": 1,
        }
        for m in (a, b)
    ]
    r = env.client.post("/brands/beta/earn/batch", json={"orders": orders}, headers=hdr)
    assert r.status_code == 200, r.text
    assert [x["points"] for x in r.json()] == [12, 12]
    r = env.client.post("/brands/beta/earn/batch", json={"orders": orders}, headers=hdr)
    assert all(x["duplicate"] for x in r.json())
    assert _balance(env, a.address, "beta") == 23 and _balance(env, b.address, "beta") == 12
    env.index()
    led = env.client.get("/brands/beta/ledger?limit=2", headers=env.h("beta:viewer")).json()
    assert len(led["entries"]) == 2 and led["next_before"] is not None
    earnings = env.client.get("/brands/beta/earnings", headers=env.h("auditor")).json()
    assert {e["order_id"] for e in earnings} >= {o["order_id"] for o in orders}


def test_passes_and_tier_perk(env: Env) -> None:
    m = env.new_member(points=10)
    hdr = env.h("acme:issuer")
    r = env.client.post(
        "/brands/acme/passes", json={"member": m.address, "tier": "Silver"}, headers=hdr
    )
    assert r.status_code == 201, r.text
    assert (
        env.client.patch(
            f"/brands/acme/passes/{m.address}", json={"tier": 2}, headers=hdr
        ).status_code
        == 200
    )
    exp = int(time.time()) + 86_400
    assert (
        env.client.post(
            f"/brands/acme/passes/{m.address}/renew", json={"expires_at": exp}, headers=hdr
        ).status_code
        == 200
    )
    env.index()
    s = env.client.get(f"/customers/{m.address}?brand=acme", headers=env.h("acme:viewer")).json()
    assert s["programs"][0]["pass"]["tier_name"] == "Platinum"
    assert s["programs"][0]["pass"]["expires_at"] == exp
    # partner perk of beta: needs an active acme pass
    partner = env.client.post(
        "/brands/beta/perks",
        json={"name": f"partner-{uuid.uuid4().hex[:6]}", "partner_brand_id": "acme"},
        headers=env.h("beta:perk_manager"),
    ).json()
    url = f"/perks/{partner['id']}/eligibility/{m.address}"
    assert env.client.get(url, headers=env.h("beta:viewer")).json()["eligible"] is True
    assert env.client.delete(f"/brands/acme/passes/{m.address}", headers=hdr).status_code == 200
    env.index()
    out = env.client.get(url, headers=env.h("beta:viewer")).json()
    assert [x["code"] for x in out["reasons"]] == ["no_partner_pass"]
    mine = env.client.get(f"/customers/{m.address}/perks?brand=beta", headers=env.sign_in(m)).json()
    assert any(p["perk"]["id"] == partner["id"] and not p["eligible"] for p in mine)


def test_operator_register_freeze_recover(env: Env) -> None:
    fresh, new_wallet = env.new_member(register=False), env.new_member(register=False)
    op = env.h("operator")
    assert (
        env.client.post("/admin/members", json={"address": fresh.address}, headers=op).status_code
        == 201
    )
    again = env.client.post("/admin/members", json={"address": fresh.address}, headers=op)
    assert again.status_code == 409 and again.json()["error"] == "already_member"
    assert env.client.post(f"/admin/members/{fresh.address}/freeze", headers=op).status_code == 200
    env.index()
    perk = _perk(env)
    out = env.client.get(
        f"/perks/{perk['id']}/eligibility/{fresh.address}", headers=env.h("auditor")
    ).json()
    assert [x["code"] for x in out["reasons"]] == ["account_frozen"]
    st = env.client.get(f"/admin/members/{fresh.address}", headers=env.h("auditor")).json()
    assert st["frozen"] is True
    assert (
        env.client.post(f"/admin/members/{fresh.address}/unfreeze", headers=op).status_code == 200
    )
    env.client.post("/admin/members", json={"address": new_wallet.address}, headers=op)
    r = env.client.post(
        f"/admin/members/{fresh.address}/recover",
        json={"new_wallet": new_wallet.address},
        headers=op,
    )
    assert r.status_code == 200, r.text


def test_operator_onboards_brand(env: Env) -> None:
    bid = f"b{uuid.uuid4().hex[:6]}"
    r = env.client.post(
        "/admin/brands",
        json={"brand_id": bid, "name": "New Brand", "symbol": "NEW", "tiers": ["One", "Two"]},
        headers=env.h("operator"),
    )
    assert r.status_code == 201, r.text
    assert bid in env.deployment.programs
    dup = env.client.post(
        "/admin/brands",
        json={"brand_id": bid, "name": "x", "symbol": "X", "tiers": ["a"]},
        headers=env.h("operator"),
    )
    assert dup.status_code == 409 and dup.json()["error"] == "program_exists"


@pytest.mark.parametrize(
    "patch",
    [
        {"name": "Evil\x07Brand"},
        {"name": "Two\nLines"},
        {"symbol": "N\tW"},
        {"tiers": ["One", "T\u2028wo"]},
    ],
)
def test_onboarding_refuses_control_characters(env: Env, patch: dict) -> None:
    bid = f"c{uuid.uuid4().hex[:6]}"
    body = {"brand_id": bid, "name": "New Brand", "symbol": "NEW", "tiers": ["One"], **patch}
    r = env.client.post("/admin/brands", json=body, headers=env.h("operator"))
    assert r.status_code == 422 and r.json()["error"] == "validation_error", r.text
    assert "printable" in r.json()["detail"] and bid not in env.deployment.programs


def test_health_reports_head_checkpoint_lag(env: Env) -> None:
    env.index()
    h = env.client.get("/health").json()
    assert h["status"] == "ok" and h["chain_head"] == h["indexer_checkpoint"]
    assert h["lag_blocks"] == 0
    assert env.client.get("/docs").status_code == 200
