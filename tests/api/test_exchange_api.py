"""The coalition exchange through the API on a real anvil + indexer: the list, quotes, gasless
swaps (the member signs a ForwardRequest, the API relays it) and every refusal.

The exchanges run between brands onboarded here, so acme's and beta's books stay as the other
API tests expect them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from loyalty_ledger import ledger
from loyalty_ledger.ledger import exchange

from .conftest import Env, onboard_brand, sign_typed

pytestmark = pytest.mark.chain

RATE_FROM, RATE_TO, CAP, BUDGET = 100, 80, 500, 1000


@dataclass(frozen=True)
class Market:
    src: str
    dst: str
    open: int
    pending: int
    paused: int
    tight: int  # open, budget 40


@pytest.fixture(scope="module")
def market(env: Env) -> Market:
    tag = uuid.uuid4().hex[:6]
    src, dst = f"xa-{tag}", f"xb-{tag}"
    onboard_brand(env, src)
    onboard_brand(env, dst)
    op, admin = env.state.sender("operator"), env.state.sender("brand")

    def register(budget: int = BUDGET) -> int:
        eid, _rc = exchange.register_exchange(
            sender=op,
            deployment=env.deployment,
            from_brand=src,
            to_brand=dst,
            rate_from=RATE_FROM,
            rate_to=RATE_TO,
            daily_cap=CAP,
            budget=budget,
        )
        return eid

    ids = [register(), register(), register(), register(budget=40)]
    for eid in (ids[0], ids[2], ids[3]):
        exchange.approve_exchange(sender=admin, deployment=env.deployment, exchange_id=eid)
    exchange.pause_exchange(sender=op, deployment=env.deployment, exchange_id=ids[2])
    env.index()
    return Market(src, dst, *ids)


def _member(env: Env, market: Market, points: int = 1000) -> tuple[LocalAccount, dict[str, str]]:
    acct = env.new_member(points=points, brand=market.src)
    return acct, env.sign_in(acct)


def _prepare(env: Env, eid: int, h: dict[str, str], body: Any) -> Any:
    return env.client.post(f"/exchanges/{eid}/swaps/prepare", json=body, headers=h)


def _balance(env: Env, brand: str, addr: str) -> int:
    return ledger.balance_of(w3=env.w3, program=env.deployment.program(brand), member=addr)


def _err(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["error"] == code, body
    return body


def test_list_and_quote(env: Env, market: Market) -> None:
    r = env.client.get("/exchanges")  # terms are public
    assert r.status_code == 200, r.text
    listed = {e["id"]: e for e in r.json()["exchanges"]}
    assert r.json()["as_of_block"] is not None
    assert {listed[i]["status"] for i in (market.open, market.tight)} == {"open"}
    assert listed[market.pending]["status"] == "pending"
    assert listed[market.paused]["status"] == "paused" and listed[market.paused]["paused_operator"]
    mine = listed[market.open]
    assert (mine["from_brand"], mine["to_brand"]) == (market.src, market.dst)
    assert (mine["rate_from"], mine["rate_to"], mine["daily_cap"]) == (RATE_FROM, RATE_TO, CAP)
    assert mine["remaining_budget"] == BUDGET - mine["issued"]

    def quote(amount: Any, h: dict[str, str] | None = None, eid: int = market.open) -> Any:
        return env.client.get(f"/exchanges/{eid}/quote", params={"amount": amount}, headers=h)

    q = quote(250).json()
    assert (q["amount_in"], q["burned"], q["issued"]) == (250, 250, 200)
    assert q["rate"] == {"from": RATE_FROM, "to": RATE_TO} and q["minimum"] == 2
    assert q["remaining_today"] is None and q["within_cap"] is None and q["within_budget"]
    # rounding never creates points: 101 buys 80, which costs only 100
    assert (quote(101).json()["burned"], quote(101).json()["issued"]) == (100, 80)
    _, h = _member(env, market)
    mine_q = quote(600, h).json()
    assert mine_q["remaining_today"] == CAP and mine_q["within_cap"] is False
    tight = quote(100, eid=market.tight).json()
    assert tight["remaining_budget"] == 40 and tight["within_budget"] is False
    assert _err(quote(1), 422, "exchange_too_small")["minimum"] == 2
    _err(quote(10, eid=10**9), 404, "unknown_exchange")
    for bad in (0, -5, "x", 2.5):
        _err(quote(bad), 422, "validation_error")


def test_gasless_swap_end_to_end(env: Env, market: Market) -> None:
    acct, h = _member(env, market)
    typed = _prepare(env, market.open, h, {"amount": 250})
    assert typed.status_code == 200, typed.text
    data = typed.json()
    assert data["primaryType"] == "ForwardRequest"
    assert data["message"]["from"] == acct.address
    assert data["message"]["to"] == env.deployment.exchange
    signed = {"message": data["message"], "signature": sign_typed(acct, data)}
    member_eth = env.w3.eth.get_balance(acct.address)
    r = env.client.post(f"/exchanges/{market.open}/swaps", json=signed, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["exchange_id"], out["burned"], out["issued"]) == (market.open, 250, 200)
    assert out["status"] == "confirmed" and out["tx_hash"] and out["block_number"]
    assert _balance(env, market.src, acct.address) == 750
    assert _balance(env, market.dst, acct.address) == 200
    assert env.w3.eth.get_balance(acct.address) == member_eth == 0  # the member paid no gas
    # a signed request is good once: sent again, it is the same operation (nothing relayed twice)
    again = env.client.post(f"/exchanges/{market.open}/swaps", json=signed, headers=h)
    assert again.status_code == 200 and again.json()["tx_hash"] == out["tx_hash"], again.text
    assert again.json()["operation"]["id"] == out["operation"]["id"]
    assert _balance(env, market.src, acct.address) == 750

    env.index()
    summary = env.client.get(f"/customers/{acct.address}", headers=h).json()
    held = {p["brand_id"]: p["balance"] for p in summary["programs"]}
    assert (held[market.src], held[market.dst]) == (750, 200)
    for brand, kind, amount in ((market.src, "swap_out", 250), (market.dst, "swap_in", 200)):
        page = env.client.get(
            f"/customers/{acct.address}/history", params={"brand": brand}, headers=h
        ).json()
        assert (page["entries"][0]["kind"], page["entries"][0]["amount"]) == (kind, amount)
        # the swap says its brands and rate, not the 64-character exchange ref
        terms = f"swap {market.src} → {market.dst} at {RATE_FROM}:{RATE_TO}"
        assert page["entries"][0]["note"] == f"{terms} (exchange #{market.open})"
    q = env.client.get(f"/exchanges/{market.open}/quote", params={"amount": 300}, headers=h).json()
    assert q["remaining_today"] == CAP - 250 and q["within_cap"] is False
    listed = {e["id"]: e for e in env.client.get("/exchanges").json()["exchanges"]}
    assert listed[market.open]["issued"] >= 200


def test_swap_refusals(env: Env, market: Market) -> None:
    acct, h = _member(env, market)
    _err(_prepare(env, market.paused, h, {"amount": 100}), 409, "exchange_paused")
    _err(_prepare(env, market.pending, h, {"amount": 100}), 409, "exchange_not_approved")
    cap = _err(
        _prepare(env, market.open, h, {"amount": CAP + 100}), 409, "exchange_daily_cap_exceeded"
    )
    assert (cap["requested"], cap["remaining"]) == (CAP + 100, CAP)
    budget = _err(_prepare(env, market.tight, h, {"amount": 100}), 409, "exchange_budget_exceeded")
    assert (budget["requested"], budget["remaining"]) == (80, 40)
    assert (
        _err(_prepare(env, market.open, h, {"amount": 1}), 422, "exchange_too_small")["minimum"]
        == 2
    )
    _err(_prepare(env, 10**9, h, {"amount": 100}), 404, "unknown_exchange")
    for body in (
        {"amount": 0},
        {"amount": -5},
        {"amount": "100"},
        {"amount": 2.5},
        {},
        {"amount": 100, "x": 1},
    ):
        _err(_prepare(env, market.open, h, body), 422, "validation_error")
    bad_json = env.client.post(
        f"/exchanges/{market.open}/swaps/prepare",
        content=b'{"amount": 1',
        headers=h | {"content-type": "application/json"},
    )
    _err(bad_json, 400, "invalid_json")
    _err(
        env.client.post(f"/exchanges/{market.open}/swaps", json={"message": {}}, headers=h),
        422,
        "validation_error",
    )
    # who may swap: a signed-in member, for themselves
    assert _prepare(env, market.open, {}, {"amount": 100}).status_code == 401
    assert _prepare(env, market.open, env.h("operator"), {"amount": 100}).status_code == 403
    _poor, poor_h = _member(env, market, points=10)
    _err(_prepare(env, market.open, poor_h, {"amount": 100}), 409, "insufficient_points")
    outsider = env.new_member(register=False)
    _err(_prepare(env, market.open, env.sign_in(outsider), {"amount": 100}), 409, "not_a_member")
    frozen, frozen_h = _member(env, market)
    ledger.freeze_member(
        sender=env.state.sender("operator"), deployment=env.deployment, member=frozen.address
    )
    _err(_prepare(env, market.open, frozen_h, {"amount": 100}), 409, "account_frozen")

    # a signed swap is relayed only for its signer and on the exchange it names
    data = _prepare(env, market.open, h, {"amount": 100}).json()
    signed = {"message": data["message"], "signature": sign_typed(acct, data)}
    _other, other_h = _member(env, market)
    _err(
        env.client.post(f"/exchanges/{market.open}/swaps", json=signed, headers=other_h),
        400,
        "invalid_signature",
    )
    _err(
        env.client.post(f"/exchanges/{market.tight}/swaps", json=signed, headers=h),
        422,
        "invalid_input",
    )
    assert _balance(env, market.src, acct.address) == 1000  # nothing was swapped


def test_list_from_the_postgresql_mirror(pg_env: Env, market: Market) -> None:
    pg_env.index()
    r = pg_env.client.get("/exchanges", headers=pg_env.h("auditor"))
    assert r.status_code == 200, r.text
    listed = {e["id"]: e for e in r.json()["exchanges"]}
    assert [listed[i]["status"] for i in (market.open, market.pending, market.paused)] == [
        "open",
        "pending",
        "paused",
    ]
    assert listed[market.tight]["budget"] == 40 and listed[market.open]["to_brand"] == market.dst
