"""A rule's perk effect grants the perk, on SQLite and PostgreSQL against a real chain: a free
redemption and a voucher the member sees and the cashier uses, once per earning (a retried
order grants nothing more), within the perk's stock and per-member limit (the line says why
not), and undone when the earning's transaction fails."""

from __future__ import annotations

import uuid

import pytest
from eth_account import Account
from sqlalchemy import select

from loyalty_ledger import auth, ledger
from loyalty_ledger.store.offchain import PerkRow, table

from .conftest import Env, onboard_brand

pytestmark = pytest.mark.chain


def _stock_used(env: Env, perk_id: int) -> int:
    t = table(PerkRow)
    with env.state.engine.connect() as conn:
        return int(conn.execute(select(t.c.redeemed_count).where(t.c.id == perk_id)).scalar_one())


def other_perks(env: Env, bid: str) -> list[int]:
    """A perk of another brand (acme's, made here)."""
    body = {"name": f"not {bid}'s"}
    r = env.client.post("/brands/acme/perks", json=body, headers=env.h("acme:perk_manager"))
    assert r.status_code == 201, r.text
    return [int(r.json()["id"])]


def test_perk_rule_grants_a_voucher_once_within_stock_and_limit(any_env: Env) -> None:
    env, c = any_env, any_env.client
    bid = "pk" + uuid.uuid4().hex[:8]
    onboard_brand(env, bid)
    hdr, iss = env.h(f"{bid}:all"), env.h(f"{bid}:issuer")
    cashier = {
        "X-API-Key": auth.create_api_key(
            engine=env.state.engine, kind="brand", brand_id=bid, roles=["cashier"]
        )[1]
    }
    perk = {"name": "Free coffee", "total_stock": 2, "per_member_limit": 1}
    r = c.post(f"/brands/{bid}/perks", json=perk, headers=hdr)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    rule = {
        "trigger": "purchase",
        "conditions": {"min_amount": 100_000},
        "effect": {"type": "perk", "perk_id": pid},
        "name": "Coffee on big orders",
    }
    for bad in (pid + 10_000, *other_perks(env, bid)):  # no such perk, another brand's
        wrong = {**rule, "effect": {"type": "perk", "perk_id": bad}}
        r = c.put(f"/brands/{bid}/rules/coffee", json=wrong, headers=hdr)
        assert r.status_code == 422 and f"no perk {bad} of brand {bid}" in r.text, r.text
    assert c.put(f"/brands/{bid}/rules/coffee", json=rule, headers=hdr).status_code == 200
    a, b, gone = Account.create(), Account.create(), Account.create()
    ledger.register_members(
        sender=env.state.sender("operator"),
        deployment=env.deployment,
        members=[a.address, b.address],
    )

    def buy(who: str, oid: str) -> dict[str, object]:
        body = {"member": who, "order_id": oid, "amount": 150_000, "currency": "VND", "items": 1}
        return c.post(f"/brands/{bid}/earn/purchase", json=body, headers=iss).json()  # type: ignore[no-any-return]

    first = buy(a.address, "a1")
    assert first["points"] == 15 and first["status"] == "confirmed", first
    assert buy(a.address, "a1")["duplicate"] is True  # retried: granted once
    mine = c.get("/members/me/vouchers", headers=env.sign_in(a)).json()
    assert [(v["perk_name"], v["state"]) for v in mine] == [("Free coffee", "open")]
    assert _stock_used(env, pid) == 1
    used = c.post(f"/brands/{bid}/vouchers/{mine[0]['code']}", headers=cashier)
    assert used.status_code == 200 and used.json()["state"] == "used", used.text

    second = buy(a.address, "a2")  # the member's limit of one coffee reached
    why = c.get(f"/brands/{bid}/earnings/{second['id']}", headers=hdr).json()["lines"]
    coffee = next(x for x in why if x["rule_id"] == "coffee")
    assert "not granted (the member's limit of 1 reached)" in coffee["why"], coffee
    assert len(c.get("/members/me/vouchers", headers=env.sign_in(a)).json()) == 1

    failed = c.post(  # not a member: the issue fails, and the grant with it
        f"/brands/{bid}/earn/purchase",
        json={
            "member": gone.address,
            "order_id": "x1",
            "amount": 150_000,
            "currency": "VND",
            "items": 1,
        },
        headers=iss,
    )
    assert failed.status_code >= 400 or failed.json().get("status") != "confirmed", failed.text
    assert _stock_used(env, pid) == 1
    assert c.get("/members/me/vouchers", headers=env.sign_in(gone)).json() == []

    assert len(c.get("/members/me/vouchers", headers=env.sign_in(b)).json()) == 0
    buy(b.address, "b1")
    assert len(c.get("/members/me/vouchers", headers=env.sign_in(b)).json()) == 1
    assert _stock_used(env, pid) == 2
    c3 = Account.create()
    ledger.register_member(
        sender=env.state.sender("operator"), deployment=env.deployment, member=c3.address
    )
    out = buy(c3.address, "c1")  # out of stock: the earning pays its points, no coffee
    assert out["points"] == 15
    why = c.get(f"/brands/{bid}/earnings/{out['id']}", headers=hdr).json()["lines"]
    assert any("not granted (out of stock)" in x["why"] for x in why), why
    assert c.get("/members/me/vouchers", headers=env.sign_in(c3)).json() == []
