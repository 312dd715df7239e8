"""The authorisation matrix: every caller x every endpoint family.

Allowed callers get past the scope check (any status but 401/403 — bodies are chosen so that
allowed calls stay harmless); everyone else gets 401 (no credentials) or 403 (wrong scope).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account

from loyalty_ledger import auth, ledger
from loyalty_ledger.ledger import exchange, lots

from .conftest import Env, onboard_brand

pytestmark = pytest.mark.chain

CALLERS = [
    "anonymous",
    "self",
    "other_customer",
    "acme:issuer",
    "acme:redeemer",
    "acme:perk_manager",
    "acme:viewer",
    "beta:all",
    "operator",
    "auditor",
    "revoked",
]
ACME_KEYS = {"acme:issuer", "acme:redeemer", "acme:perk_manager", "acme:viewer"}
READERS = ACME_KEYS | {"operator", "auditor"}
CUSTOMERS = {"self", "other_customer"}
OPEN = set(CALLERS) - {"revoked"}  # no credentials is fine; bad credentials are still a 401
SWAP_POINTS = 10


@dataclass
class World:
    env: Env
    me: str
    perk_id: int
    headers: dict[str, dict[str, str]]
    exchange_id: int  # open, between two brands onboarded here; `me` holds SWAP_POINTS to swap
    acme_validity: int  # acme's expiry policy, which the allowed PUTs write back unchanged


def _acme_validity(env: Env) -> int:
    return lots.policy_of(w3=env.w3, program=env.deployment.program("acme")).validity_epochs


def _open_exchange(env: Env, member: str) -> int:
    """An open 1:1 exchange between two brands of this module's own (acme and beta keep their
    books), with SWAP_POINTS of the from-brand for `member`."""
    tag = uuid.uuid4().hex[:6]
    src, dst = f"za-{tag}", f"zb-{tag}"
    onboard_brand(env, src)
    onboard_brand(env, dst)
    eid, _rc = exchange.register_exchange(
        sender=env.state.sender("operator"),
        deployment=env.deployment,
        from_brand=src,
        to_brand=dst,
        rate_from=1,
        rate_to=1,
        daily_cap=1000,
        budget=1000,
    )
    exchange.approve_exchange(
        sender=env.state.sender("brand"), deployment=env.deployment, exchange_id=eid
    )
    ledger.issue_points(
        sender=env.state.sender("brand"),
        program=env.deployment.program(src),
        member=member,
        amount=SWAP_POINTS,
        reason="signup",
        ref="authz",
    )
    return eid


@pytest.fixture(scope="module")
def world(env: Env) -> World:
    me = env.new_member(points=5)
    other = env.new_member()
    perk = env.client.post(
        "/brands/acme/perks",
        json={"name": f"authz-{uuid.uuid4().hex[:6]}", "point_cost": 3},
        headers=env.h("acme:perk_manager"),
    ).json()
    eid = _open_exchange(env, me.address)
    env.index()
    _kid, revoked = auth.create_api_key(engine=env.state.engine, kind="operator")
    auth.revoke_api_key(engine=env.state.engine, key_id=_kid)
    headers: dict[str, dict[str, str]] = {
        "anonymous": {},
        "self": env.sign_in(me),
        "other_customer": env.sign_in(other),
        "revoked": {"X-API-Key": revoked},
    }
    for c in CALLERS:
        if c in env.keys:
            headers[c] = env.h(c)
    return World(env, me.address, perk["id"], headers, eid, _acme_validity(env))


Call = Callable[[World], tuple[str, str, Any]]

FAMILIES: dict[str, tuple[Call, set[str]]] = {
    "earn": (
        lambda w: (
            "POST",
            "/brands/acme/earn/purchase",
            {
                "member": w.me,
                "order_id": f"authz-{uuid.uuid4().hex}",
                "amount": 0,
                "currency": "VND",
                "items": 1,
            },
        ),
        {"acme:issuer", "operator"},
    ),
    "earn_rule_write": (
        lambda w: (
            "PUT",
            "/brands/acme/earn-rule",
            {"currency": "VND", "amount_per_point": 10_000, "bonuses": {}},
        ),
        {"acme:issuer", "operator"},
    ),
    "passes_write": (
        lambda w: ("POST", "/brands/acme/passes", {"member": Account.create().address}),
        {"acme:issuer", "operator"},
    ),
    "perk_create": (
        lambda w: ("POST", "/brands/acme/perks", {"name": f"p-{uuid.uuid4().hex}"}),
        {"acme:perk_manager", "operator"},
    ),
    "perk_update": (
        lambda w: ("PATCH", f"/perks/{w.perk_id}", {"description": "d"}),
        {"acme:perk_manager", "operator"},
    ),
    "brand_ledger": (lambda w: ("GET", "/brands/acme/ledger", None), READERS),
    "brand_earnings": (lambda w: ("GET", "/brands/acme/earnings", None), READERS),
    "brand_redemptions": (lambda w: ("GET", "/brands/acme/redemptions", None), READERS),
    "eligibility": (
        lambda w: ("GET", f"/perks/{w.perk_id}/eligibility/{w.me}", None),
        READERS | {"self"},
    ),
    "customer_read": (
        lambda w: ("GET", f"/customers/{w.me}", None),
        READERS | {"self", "beta:all"},
    ),
    "customer_transfer": (
        lambda w: (
            "POST",
            f"/customers/{w.me}/transfers/prepare",
            {"brand_id": "acme", "to": w.me, "amount": 10**9},
        ),
        {"self"},
    ),
    "redeem": (
        lambda w: ("POST", f"/perks/{w.perk_id}/redeem", {"member": w.me}),
        {"self", "acme:redeemer", "operator"},
    ),
    "admin_write": (
        lambda w: ("POST", "/admin/members", {"address": Account.create().address}),
        {"operator"},
    ),
    "admin_read": (lambda w: ("GET", f"/admin/members/{w.me}", None), {"operator", "auditor"}),
    "member_expiry": (
        lambda w: ("GET", f"/customers/{w.me}/points/expiry?brand=acme", None),
        READERS | {"self"},
    ),
    "member_expiry_beta": (  # through another brand: acme's keys may not look
        lambda w: ("GET", f"/customers/{w.me}/points/expiry?brand=beta", None),
        {"self", "beta:all", "operator", "auditor"},
    ),
    "brand_expiring": (lambda w: ("GET", "/brands/acme/expiring?days=30", None), READERS),
    "expiry_policy_read": (lambda w: ("GET", "/brands/acme/expiry-policy", None), READERS),
    "expiry_policy_write": (  # the current value: an allowed PUT changes nothing
        lambda w: ("PUT", "/brands/acme/expiry-policy", {"epochs": w.acme_validity}),
        {"acme:issuer", "operator"},
    ),
    "exchanges_list": (lambda w: ("GET", "/exchanges", None), OPEN),
    "exchange_quote": (
        lambda w: ("GET", f"/exchanges/{w.exchange_id}/quote?amount={SWAP_POINTS}", None),
        OPEN,
    ),
    "swap_prepare": (  # builds typed data to sign; sends nothing
        lambda w: (
            "POST",
            f"/exchanges/{w.exchange_id}/swaps/prepare",
            {"amount": SWAP_POINTS},
        ),
        CUSTOMERS,
    ),
    "swap_relay": (  # an incomplete request: refused before anything is relayed
        lambda w: (
            "POST",
            f"/exchanges/{w.exchange_id}/swaps",
            {"message": {}, "signature": "0x" + "00" * 65},
        ),
        CUSTOMERS,
    ),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_matrix(world: World, family: str, caller: str) -> None:
    build, allowed = FAMILIES[family]
    method, url, body = build(world)
    headers = {**world.headers[caller], "Idempotency-Key": uuid.uuid4().hex}
    if family == "redeem" and caller == "self":
        body = {}
    r = world.env.client.request(method, url, json=body, headers=headers)
    if caller in allowed:
        assert r.status_code not in (401, 403), (r.status_code, r.text)
        assert r.status_code < 500, r.text
    elif caller in ("anonymous", "revoked"):
        assert r.status_code == 401, (r.status_code, r.text)
        assert r.json()["error"] == "unauthenticated"
    else:
        assert r.status_code == 403, (r.status_code, r.text)
        assert r.json()["error"] == "forbidden"


def test_brand_cannot_touch_other_brand(world: World) -> None:
    env = world.env
    beta = env.h("beta:all")
    for method, url, body in (
        (
            "POST",
            "/brands/acme/earn/purchase",
            {"member": world.me, "order_id": "x", "amount": 1, "currency": "VND", "items": 1},
        ),
        ("DELETE", f"/perks/{world.perk_id}", None),
        ("GET", f"/customers/{world.me}/history?brand=acme", None),
        ("GET", f"/customers/{world.me}?brand=acme", None),
        ("GET", f"/customers/{world.me}/points/expiry?brand=acme", None),
        ("GET", "/brands/acme/expiring", None),
        ("GET", "/brands/acme/expiry-policy", None),
        ("PUT", "/brands/acme/expiry-policy", {"epochs": world.acme_validity + 7}),
    ):
        r = env.client.request(method, url, json=body, headers=beta)
        assert r.status_code == 403, (url, r.text)
    # through the member view a brand sees only its own program
    s = env.client.get(f"/customers/{world.me}", headers=beta).json()
    assert [p["brand_id"] for p in s["programs"]] == ["beta"]


def test_allowed_calls_left_the_shared_state(world: World) -> None:
    """The matrix's allowed PUTs wrote acme's policy back unchanged and no swap was relayed;
    the one allowed prepare gave `me` a request to sign."""
    env = world.env
    assert _acme_validity(env) == world.acme_validity
    r = env.client.post(
        f"/exchanges/{world.exchange_id}/swaps/prepare",
        json={"amount": SWAP_POINTS},
        headers=world.headers["self"],
    )
    assert r.status_code == 200, r.text
    typed = r.json()
    assert typed["primaryType"] == "ForwardRequest" and typed["message"]["from"] == world.me
    info = exchange.exchange_of(w3=env.w3, deployment=env.deployment, exchange_id=world.exchange_id)
    assert info.issued == 0
    src = env.deployment.program(info.from_brand)
    assert ledger.balance_of(w3=env.w3, program=src, member=world.me) == SWAP_POINTS
