"""A member who signs in with their own wallet (SIWE) redeems a perk to a voucher: the wallet
signs the burn's forward request (EIP-712, from `/perks/{id}/redeem/prepare`), the relayer
sends it through the outbox, and the member gets the same voucher (code and QR) as a
managed-key member; on SQLite and PostgreSQL. Refused: no signature, another wallet's
signature, the same signature under another key; a retry answers the same voucher."""

from __future__ import annotations

import uuid
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from loyalty_ledger.auth.managed import sign_typed

from ..api.conftest import Env
from .conftest import Inbox, bearer, email_sign_in, points_of

WAIT = {"Prefer": "wait=30"}


def _member_with_points(env: Env) -> tuple[LocalAccount, dict[str, str]]:
    """A wallet signed in with Ethereum, joined to acme, with points earned at a till."""
    acct: LocalAccount = Account.create()
    h = env.sign_in(acct)
    r = env.client.post("/members/me/join/acme", headers={**h, **WAIT})
    assert r.status_code == 200 and r.json()["status"] in ("confirmed", "member"), r.text
    order = {"member": acct.address, "order_id": f"o-{uuid.uuid4().hex[:8]}", "amount": 500_000}
    r = env.client.post(
        "/brands/acme/earn/purchase",
        json={**order, "currency": "VND", "items": 1},
        headers={**env.h("acme:issuer"), **WAIT},
    )
    assert r.status_code == 200, r.text
    return acct, h


def _perk(env: Env, cost: int) -> int:
    body = {"name": f"Cookie {uuid.uuid4().hex[:6]}", "point_cost": cost, "min_points": cost}
    r = env.client.post("/brands/acme/perks", json=body, headers=env.h("acme:perk_manager"))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _signed(env: Env, h: dict[str, str], perk: int, signer: LocalAccount) -> dict[str, Any]:
    r = env.client.post(f"/perks/{perk}/redeem/prepare", json={}, headers=h)
    assert r.status_code == 200, r.text
    typed = r.json()
    return {"forward": {"message": typed["message"], "signature": sign_typed(signer, typed)}}


def _redeem(env: Env, h: dict[str, str], perk: int, body: Any, key: str) -> Any:
    headers = {**h, **WAIT, "Idempotency-Key": key}
    return env.client.post(f"/members/me/perks/{perk}/redeem", json=body, headers=headers)


def test_a_wallet_member_redeems_to_a_voucher(any_m_env: Env) -> None:
    env = any_m_env
    acct, h = _member_with_points(env)
    perk = _perk(env, 5)
    env.index()
    before = points_of(env, acct.address)
    assert before >= 5
    # Without a signature the server cannot consent for a wallet it holds no key of.
    r = _redeem(env, h, perk, None, "k0")
    assert r.status_code == 422 and "redeem/prepare" in r.json()["detail"], r.text
    # Another wallet's signature for this member's burn is refused; nothing burns.
    r = _redeem(env, h, perk, _signed(env, h, perk, Account.create()), "k1")
    assert r.status_code == 400 and r.json()["error"] == "invalid_signature", r.text
    body = _signed(env, h, perk, acct)
    r = _redeem(env, h, perk, body, "k2")
    assert r.status_code == 200, r.text
    out = r.json()
    v = out["voucher"]
    assert out["redemption"]["status"] == "confirmed" and out["redemption"]["method"] == "forward"
    assert v["state"] == "open" and v["perk_name"].startswith("Cookie")
    assert v["qr"].startswith("data:image/svg") and v["member"] == acct.address
    assert points_of(env, acct.address) == before - 5
    # A retry with the same key answers the same voucher; the signature cannot burn twice.
    again = _redeem(env, h, perk, body, "k2")
    assert again.status_code == 200 and again.json()["voucher"]["code"] == v["code"]
    r = _redeem(env, h, perk, body, "k3")
    assert r.status_code == 400 and r.json()["error"] == "invalid_signature", r.text
    assert points_of(env, acct.address) == before - 5
    # The wallet lists it; the cashier uses it once.
    mine = env.client.get("/members/me/vouchers", headers=h).json()
    assert [(x["code"], x["state"]) for x in mine] == [(v["code"], "open")]
    cashier = env.h("acme:cashier")
    r = env.client.post(f"/brands/acme/vouchers/{v['code']}", headers=cashier)
    assert r.status_code == 200 and r.json()["state"] == "used", r.text
    r = env.client.post(f"/brands/acme/vouchers/{v['code']}", headers=cashier)
    assert r.status_code == 409 and r.json()["error"] == "voucher_used"
    assert env.client.get("/members/me/vouchers", headers=h).json()[0]["state"] == "used"


def test_a_managed_key_retry_answers_the_same_voucher(
    any_m_env: Env, smtp: tuple[Inbox, int]
) -> None:
    """A managed-key member asks again with the same Idempotency-Key (the answer was lost):
    the same voucher, one burn (the server's new signature would otherwise conflict)."""
    env = any_m_env
    m = email_sign_in(env, smtp[0], f"r{uuid.uuid4().hex[:10]}@example.test")
    h = bearer(str(m["token"]))
    r = env.client.post("/members/me/join/acme", headers={**h, **WAIT})
    assert r.status_code == 200, r.text
    order = {"member": m["member_id"], "order_id": f"o-{uuid.uuid4().hex[:8]}", "items": 1}
    r = env.client.post(
        "/brands/acme/earn/purchase",
        json={**order, "amount": 500_000, "currency": "VND"},
        headers={**env.h("acme:issuer"), **WAIT},
    )
    assert r.status_code == 200, r.text
    perk = _perk(env, 5)
    env.index()
    before = points_of(env, str(m["address"]))
    first = _redeem(env, h, perk, None, "same")
    again = _redeem(env, h, perk, None, "same")
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["voucher"]["code"] == again.json()["voucher"]["code"]
    assert points_of(env, str(m["address"])) == before - 5
    assert len(env.client.get("/members/me/vouchers", headers=h).json()) == 1
