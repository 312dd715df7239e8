"""The wallet-less member's journey through the API on a real chain, with the outbox, on
SQLite and PostgreSQL: email sign-up with a managed key, joining a brand, earning at a till by
the member card's id, gifting to a friend by member id, a step-up for a large gift, redeeming a
perk to a voucher the cashier uses once, exporting the key, and moving to an own wallet. Then
the logs and every database row are scanned for key material."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import text, update

from loyalty_ledger import ledger
from loyalty_ledger.store.customers import MemberSession, Voucher
from loyalty_ledger.store.offchain import table

from ..api.conftest import Env
from .conftest import Inbox, bearer, email_sign_in, points_of

WAIT = {"Prefer": "wait=30"}


def _email() -> str:
    return f"m{uuid.uuid4().hex[:10]}@example.test"


def _age_session(env: Env, token_holder: dict[str, Any], seconds: int = 3600) -> None:
    """Pretend the member signed in long ago (the session stays valid, but is not fresh)."""
    t = table(MemberSession)
    with env.state.engine.begin() as conn:
        conn.execute(
            update(t)
            .where(t.c.address == token_holder["address"])
            .values(auth_at=int(time.time()) - seconds)
        )


def _step_up_by_email(env: Env, inbox: Inbox, email: str, h: dict[str, str]) -> None:
    r = env.client.post("/auth/step-up/options", headers=h)
    assert r.status_code == 200 and r.json() == {"email": True}, r.text
    code = inbox.last_code(email)
    r = env.client.post("/auth/step-up", json={"code": code}, headers=h)
    assert r.status_code == 200, r.text


def _join(env: Env, h: dict[str, str]) -> None:
    r = env.client.post("/members/me/join/acme", headers={**h, **WAIT})
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text


def _perk(env: Env, cost: int) -> int:
    body = {"name": f"Latte {uuid.uuid4().hex[:6]}", "point_cost": cost, "min_points": cost}
    r = env.client.post("/brands/acme/perks", json=body, headers=env.h("acme:perk_manager"))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _redeem(env: Env, h: dict[str, str], perk_id: int) -> dict[str, Any]:
    env.index()
    r = env.client.post(f"/members/me/perks/{perk_id}/redeem", headers=h)
    assert r.status_code == 200 and r.json()["voucher"] is not None, r.text
    return dict(r.json()["voucher"])


def test_member_journey_with_a_managed_key(
    chain_env: Env, smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env, inbox = chain_env, smtp[0]
    a_mail, b_mail = _email(), _email()
    a, b = email_sign_in(env, inbox, a_mail), email_sign_in(env, inbox, b_mail)
    ha, hb = bearer(str(a["token"])), bearer(str(b["token"]))
    # This journey counts gifts and redemptions from zero: no welcome bonus (test_no_outbox
    # shows a join paying it).
    rule = {"currency": "VND", "amount_per_point": 10_000, "bonuses": {"signup": 0}}
    r = env.client.put("/brands/acme/earn-rule", json=rule, headers=env.h("acme:issuer"))
    assert r.status_code == 200, r.text
    _join(env, ha)
    _join(env, hb)
    # The till scans A's member card: the id alone earns.
    order = {
        "member": a["member_id"],
        "order_id": "o-1",
        "amount": 1_000_000,
        "currency": "VND",
        "items": 1,
    }
    r = env.client.post(
        "/brands/acme/earn/purchase", json=order, headers={**env.h("acme:issuer"), **WAIT}
    )
    assert r.status_code == 200 and r.json()["member"] == a["address"], r.text
    assert points_of(env, str(a["address"])) == 100
    # A gifts 10 to B by B's member id (signed by A's managed key, relayed through the outbox).
    gift = {"brand_id": "acme", "to": b["member_id"], "amount": 10, "memo": "enjoy"}
    r = env.client.post("/members/me/gifts", json=gift, headers={**ha, **WAIT})
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    assert (points_of(env, str(a["address"])), points_of(env, str(b["address"]))) == (90, 10)
    # Above the brand's amount, a session that is not fresh needs a step-up.
    r = env.client.put(
        "/brands/acme/member-settings",
        json={"step_up_above": 5, "voucher_ttl": 3600},
        headers=env.h("acme:perk_manager"),
    )
    assert r.status_code == 200, r.text
    _age_session(env, a)
    r = env.client.post("/members/me/gifts", json={**gift, "amount": 6}, headers={**ha, **WAIT})
    assert r.status_code == 403 and r.json()["error"] == "step_up_required", r.text
    assert points_of(env, str(b["address"])) == 10
    _step_up_by_email(env, inbox, a_mail, ha)
    r = env.client.post("/members/me/gifts", json={**gift, "amount": 6}, headers={**ha, **WAIT})
    assert r.status_code == 200, r.text
    assert points_of(env, str(b["address"])) == 16
    # A gift the member cannot afford is refused before anything is queued.
    r = env.client.post("/members/me/gifts", json={**gift, "amount": 5000}, headers={**ha, **WAIT})
    assert r.status_code == 409 and r.json()["error"] == "insufficient_points", r.text
    # Redeem to a voucher; the brand's cashier uses it once.
    perk = _perk(env, 20)
    v = _redeem(env, ha, perk)
    assert (
        v["state"] == "open"
        and v["perk_name"].startswith("Latte")
        and v["qr"].startswith("data:image/svg")
    )
    assert points_of(env, str(a["address"])) == 64
    cashier, code = env.h("acme:cashier"), v["code"]
    r = env.client.get(f"/brands/acme/vouchers/{code.lower()}", headers=cashier)
    assert r.status_code == 200 and r.json()["state"] == "open"
    assert (
        env.client.get(f"/brands/acme/vouchers/{code}", headers=env.h("acme:issuer")).status_code
        == 403
    )
    r = env.client.post(f"/brands/beta/vouchers/{code}", headers=env.h("beta:cashier"))
    assert r.status_code == 409 and r.json()["error"] == "voucher_other_brand"
    r = env.client.get(f"/members/me/vouchers/{code}", headers=hb)  # another member's voucher
    assert r.status_code == 404
    r = env.client.post(f"/brands/acme/vouchers/{code}", headers=cashier)
    assert r.status_code == 200 and r.json()["state"] == "used", r.text
    r = env.client.post(f"/brands/acme/vouchers/{code}", headers=cashier)
    assert r.status_code == 409 and r.json()["error"] == "voucher_used"
    # An expired voucher is refused with its reason.
    v2 = _redeem(env, ha, perk)
    with env.state.engine.begin() as conn:
        t = table(Voucher)
        conn.execute(
            update(t)
            .where(t.c.code == v2["code"].replace("-", ""))
            .values(expires_at=int(time.time()) - 1)
        )
    r = env.client.post(f"/brands/acme/vouchers/{v2['code']}", headers=cashier)
    assert r.status_code == 409 and r.json()["error"] == "voucher_expired"
    assert r.json()["voucher"]["used_at"] is None
    mine = env.client.get("/members/me/vouchers", headers=ha).json()
    assert {x["code"]: x["state"] for x in mine} == {code: "used", v2["code"]: "expired"}
    # Export needs a fresh proof; then the key opens A's address.
    _age_session(env, a)
    r = env.client.post("/members/me/key/export", headers=ha)
    assert r.status_code == 403 and r.json()["error"] == "step_up_required"
    _step_up_by_email(env, inbox, a_mail, ha)
    r = env.client.post("/members/me/key/export", headers=ha)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    exported = r.json()["private_key"]
    assert Account.from_key(exported).address == a["address"]
    # Move to an own wallet: the registry's recovery carries the points and the pass of every
    # programme (acme and beta here); no key is kept.
    _pass_and_beta_points(env, str(a["address"]))
    beta = points_of(env, str(a["address"]), "beta")
    own = Account.create()
    r = env.client.post(
        "/members/me/key/move", json={"new_address": own.address}, headers={**ha, **WAIT}
    )
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    assert points_of(env, own.address) == 44 and points_of(env, str(a["address"])) == 0
    assert points_of(env, own.address, "beta") == beta > 0
    assert points_of(env, str(a["address"]), "beta") == 0
    for brand in ("acme", "beta"):
        mine = ledger.pass_of(w3=env.w3, program=env.deployment.program(brand), member=own.address)
        assert mine is not None and mine.tier_name == "Basic", brand
    assert env.client.get("/members/me", headers=ha).status_code == 401  # moved: signed out
    from loyalty_ledger.auth import accounts

    moved = accounts.by_id(env.state.engine, str(a["member_id"]))
    assert moved is not None and moved["address"] == own.address and moved["sealed_key"] is None
    _scan_for_keys(env, caplog, [exported, _key_of(env, b)])


def _pass_and_beta_points(env: Env, address: str) -> None:
    """A pass at acme and at beta, and points earned at beta, for `address`."""
    for brand in ("acme", "beta"):
        r = env.client.post(
            f"/brands/{brand}/passes",
            json={"member": address, "tier": "Basic"},
            headers={**env.h(f"{brand}:issuer"), **WAIT},
        )
        assert r.status_code in (200, 201), r.text
    order = {"member": address, "order_id": "b-1", "amount": 500_000, "currency": "VND", "items": 1}
    r = env.client.post(
        "/brands/beta/earn/purchase", json=order, headers={**env.h("beta:issuer"), **WAIT}
    )
    assert r.status_code == 200, r.text


def _key_of(env: Env, member: dict[str, Any]) -> str:
    from loyalty_ledger.auth import accounts

    acct = accounts.signer(
        engine=env.state.engine, kek=env.state.kek, address=str(member["address"])
    )
    return "0x" + bytes(acct.key).hex()


def _scan_for_keys(env: Env, caplog: pytest.LogCaptureFixture, keys: list[str]) -> None:
    """No private key, in hex with or without 0x, in any log line or any database value."""
    needles = [k.lower().removeprefix("0x") for k in keys]
    logs = caplog.text.lower()
    assert not [n for n in needles if n in logs]
    eng = env.state.engine
    from sqlalchemy import inspect

    names = inspect(eng).get_table_names()
    dump = []
    with eng.connect() as conn:
        for name in names:
            for row in conn.execute(text(f'SELECT * FROM "{name}"')):
                dump.append(" ".join(str(v) for v in row).lower())
    joined = "\n".join(dump)
    assert len(dump) > 50 and "member_account" in names
    assert not [n for n in needles if n in joined]
    sealed = [r for r in dump if r.startswith("m") and "v1." in r]
    assert sealed, "the managed keys are there, sealed"
