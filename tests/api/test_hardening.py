"""Issue 12 (API): typed signed-request bodies (422, never 500), idempotency conflicts (409),
deactivated perks hidden from customers and other brands, refused redemptions leave no row,
brand readers never see customers' idempotency keys."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from loyalty_ledger.store.offchain import Redemption, table

from .conftest import Env, sign_typed

pytestmark = pytest.mark.chain
T_RED = table(Redemption)


def _err(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "detail"} and body["error"] == code, body
    return body


def _perk(env: Env, **fields: object) -> dict[str, Any]:
    body = {"name": f"perk-{uuid.uuid4().hex[:8]}", **fields}
    r = env.client.post("/brands/acme/perks", json=body, headers=env.h("acme:perk_manager"))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _post_raw(env: Env, url: str, body: dict[str, Any], headers: dict[str, str], raw: str) -> Any:
    """POST `body` with the placeholder string "@RAW@" replaced by the raw JSON text `raw`."""
    text = json.dumps(body).replace('"@RAW@"', raw)
    return env.client.post(
        url, content=text.encode(), headers={**headers, "Content-Type": "application/json"}
    )


@pytest.fixture(scope="module")
def signer(env: Env) -> dict[str, Any]:
    """A member with points, a session, and a prepared (unsigned-for) transfer request."""
    alice, bob = env.new_member(points=50), env.new_member()
    h = env.sign_in(alice)
    typed = env.client.post(
        f"/customers/{alice.address}/transfers/prepare",
        json={"brand_id": "acme", "kind": "transfer", "to": bob.address, "amount": 1},
        headers=h,
    ).json()
    return {"alice": alice, "h": h, "typed": typed}


@pytest.mark.parametrize("field", ["value", "gas", "nonce", "deadline"])
def test_signed_transfer_with_bad_numbers_is_422(env: Env, signer: dict[str, Any], field: str):
    alice, h, typed = signer["alice"], signer["h"], signer["typed"]
    url = f"/customers/{alice.address}/transfers"
    raws = ('"abc"', '"0x1"', '" 1"', "1e400", "NaN", "-1", str(2**256), "1.5", "true", "null")
    for raw in raws:
        message = {**typed["message"], field: "@RAW@"}
        body = {"brand_id": "acme", "message": message, "signature": "0x" + "11" * 65}
        r = _post_raw(env, url, body, h, raw)
        if raw == "NaN":  # not JSON at all: Python's json would take it, the API must not
            assert r.status_code in (400, 422), r.text
            assert r.json()["error"] in ("invalid_json", "validation_error")
            continue
        err = _err(r, 422, "validation_error")
        assert f"message.{field}" in err["detail"], err
    # a deadline past uint48 is refused as well
    body = {"brand_id": "acme", "message": {**typed["message"], "deadline": 2**48}}
    _err(
        env.client.post(url, json={**body, "signature": "0x" + "11" * 65}, headers=h),
        422,
        "validation_error",
    )


def test_decimal_text_numbers_still_work(env: Env) -> None:
    """Wallets and JavaScript clients send big numbers as decimal text: still accepted."""
    alice, bob = env.new_member(points=10), env.new_member()
    h = env.sign_in(alice)
    typed = env.client.post(
        f"/customers/{alice.address}/transfers/prepare",
        json={"brand_id": "acme", "kind": "gift", "to": bob.address, "amount": 3},
        headers=h,
    ).json()
    sig = sign_typed(alice, typed)
    message = {k: str(v) if isinstance(v, int) else v for k, v in typed["message"].items()}
    r = env.client.post(
        f"/customers/{alice.address}/transfers",
        json={"brand_id": "acme", "message": message, "signature": sig},
        headers=h,
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("raw", ['"abc"', '"0x1"', "1e400", "-1", str(2**256)])
def test_signed_redeem_and_swap_with_bad_numbers_are_422(env: Env, raw: str) -> None:
    alice = env.new_member(points=50)
    perk = _perk(env, point_cost=5)
    env.index()
    h = env.sign_in(alice)
    forward = env.client.post(f"/perks/{perk['id']}/redeem/prepare", json={}, headers=h).json()
    for field in ("value", "gas", "nonce", "deadline"):
        message = {**forward["message"], field: "@RAW@"}
        body = {"forward": {"message": message, "signature": "0x" + "11" * 65}}
        r = _post_raw(env, f"/perks/{perk['id']}/redeem", body, {**h, "Idempotency-Key": "k"}, raw)
        assert f"forward.message.{field}" in _err(r, 422, "validation_error")["detail"]
    permit = env.client.post(
        f"/perks/{perk['id']}/redeem/prepare",
        json={"method": "permit", "member": alice.address},
        headers=env.h("acme:redeemer"),
    ).json()
    for field in ("value", "nonce", "deadline"):
        message = {**permit["message"], field: "@RAW@"}
        body = {
            "member": alice.address,
            "permit": {"message": message, "signature": "0x" + "11" * 65},
        }
        r = _post_raw(
            env,
            f"/perks/{perk['id']}/redeem",
            body,
            {**env.h("acme:redeemer"), "Idempotency-Key": "k"},
            raw,
        )
        assert f"permit.message.{field}" in _err(r, 422, "validation_error")["detail"]
    for field in ("value", "gas", "nonce", "deadline"):
        message = {**forward["message"], field: "@RAW@"}
        r = _post_raw(
            env, "/exchanges/0/swaps", {"message": message, "signature": "0x" + "11" * 65}, h, raw
        )
        assert f"message.{field}" in _err(r, 422, "validation_error")["detail"]
    with env.state.engine.connect() as conn:
        assert conn.execute(select(T_RED).where(T_RED.c.perk_id == perk["id"])).first() is None


def test_signed_message_schemas_are_in_openapi(env: Env) -> None:
    spec = env.client.get("/openapi.json").json()
    fwd = spec["components"]["schemas"]["ForwardMessage"]
    assert set(fwd["required"]) == {"from", "to", "value", "gas", "nonce", "deadline", "data"}
    assert fwd["properties"]["deadline"]["anyOf"][0]["maximum"] == 2**48 - 1
    assert "PermitMessage" in spec["components"]["schemas"]


# --- idempotency ----------------------------------------------------------------------------


def _redeem_body(env: Env, acct: Any, perk_id: int, h: dict[str, str]) -> dict[str, Any]:
    typed = env.client.post(f"/perks/{perk_id}/redeem/prepare", json={}, headers=h).json()
    return {"forward": {"message": typed["message"], "signature": sign_typed(acct, typed)}}


def test_redeem_same_key_other_body_is_409(env: Env) -> None:
    alice = env.new_member(points=100)
    perk, other = _perk(env, point_cost=10), _perk(env, point_cost=10)
    env.index()
    h = env.sign_in(alice)
    body = _redeem_body(env, alice, perk["id"], h)
    hk = {**h, "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    first = env.client.post(f"/perks/{perk['id']}/redeem", json=body, headers=hk)
    assert first.status_code == 200 and first.json()["status"] == "confirmed", first.text
    # identical body (numbers as decimal text are the same request): a replay
    same = {
        "forward": {
            "message": {
                k: str(v) if isinstance(v, int) else v
                for k, v in body["forward"]["message"].items()
            },
            "signature": body["forward"]["signature"],
        }
    }
    again = env.client.post(f"/perks/{perk['id']}/redeem", json=same, headers=hk)
    assert again.status_code == 200 and again.json()["replayed"] is True, again.text
    assert again.json()["id"] == first.json()["id"]
    # a new signed request under the same key: 409, nothing redeemed
    env.index()
    second = _redeem_body(env, alice, perk["id"], h)
    _err(
        env.client.post(f"/perks/{perk['id']}/redeem", json=second, headers=hk),
        409,
        "idempotency_conflict",
    )
    # the same key on another perk: 409 as before
    third = _redeem_body(env, alice, other["id"], h)
    _err(
        env.client.post(f"/perks/{other['id']}/redeem", json=third, headers=hk),
        409,
        "idempotency_conflict",
    )
    got = env.client.get(f"/perks/{perk['id']}", headers=env.h("acme:viewer")).json()
    assert got["redeemed_count"] == 1


def test_earn_action_same_id_other_member_is_409(env: Env) -> None:
    a, b = env.new_member(), env.new_member()
    action_id = uuid.uuid4().hex
    url, hdr = "/brands/acme/earn/action", env.h("acme:issuer")
    body = {"member": a.address, "action": "review", "action_id": action_id}
    assert env.client.post(url, json=body, headers=hdr).json()["duplicate"] is False
    assert env.client.post(url, json=body, headers=hdr).json()["duplicate"] is True
    _err(
        env.client.post(url, json={**body, "member": b.address}, headers=hdr),
        409,
        "idempotency_conflict",
    )


def test_earn_batch_with_a_conflicting_order_claims_nothing(env: Env) -> None:
    a, b = env.new_member(), env.new_member()
    url, hdr = "/brands/acme/earn/batch", env.h("acme:issuer")
    known = {
        "member": a.address,
        "order_id": uuid.uuid4().hex,
        "amount": 50_000,
        "currency": "VND",
        "items": 1,
    }
    assert env.client.post(url, json={"orders": [known]}, headers=hdr).status_code == 200
    new = {**known, "order_id": uuid.uuid4().hex, "member": b.address}
    r = env.client.post(url, json={"orders": [new, {**known, "amount": 60_000}]}, headers=hdr)
    _err(r, 409, "idempotency_conflict")
    earnings = env.client.get("/brands/acme/earnings?limit=200", headers=hdr).json()
    assert new["order_id"] not in {e["order_id"] for e in earnings}
    # the identical batch again is a replay
    r = env.client.post(url, json={"orders": [known]}, headers=hdr)
    assert r.status_code == 200 and r.json()[0]["duplicate"] is True


# --- perk visibility and the redemptions a brand sees ----------------------------------------


def test_deactivated_perk_is_hidden_from_customers_and_other_brands(env: Env) -> None:
    alice = env.new_member(points=100)
    perk = _perk(env, point_cost=5, description="internal: clearance of old stock")
    env.index()
    h = env.sign_in(alice)
    assert env.client.get(f"/perks/{perk['id']}", headers=h).status_code == 200
    typed = env.client.post(f"/perks/{perk['id']}/redeem/prepare", json={}, headers=h).json()
    r = env.client.delete(f"/perks/{perk['id']}", headers=env.h("acme:perk_manager"))
    assert r.status_code == 200 and r.json()["active"] is False
    for who in (h, env.h("beta:all"), env.h("beta:viewer")):
        _err(env.client.get(f"/perks/{perk['id']}", headers=who), 404, "perk_not_found")
        url = f"/perks/{perk['id']}/eligibility/{alice.address}"
        assert env.client.get(url, headers=who).status_code in (403, 404)
    for who in (env.h("acme:viewer"), env.h("operator"), env.h("auditor")):
        got = env.client.get(f"/perks/{perk['id']}", headers=who)
        assert got.status_code == 200 and got.json()["description"].startswith("internal")
    # redeeming it is refused, before and after signing
    _err(
        env.client.post(f"/perks/{perk['id']}/redeem/prepare", json={}, headers=h),
        404,
        "perk_not_found",
    )
    r = env.client.post(
        f"/perks/{perk['id']}/redeem/prepare",
        json={"member": alice.address},
        headers=env.h("acme:redeemer"),
    )
    body = _err(r, 409, "not_eligible")
    assert [x["code"] for x in body["reasons"]] == ["perk_inactive"]
    signed = {"forward": {"message": typed["message"], "signature": sign_typed(alice, typed)}}
    r = env.client.post(
        f"/perks/{perk['id']}/redeem", json=signed, headers={**h, "Idempotency-Key": "gone"}
    )
    _err(r, 404, "perk_not_found")


def test_refused_redemption_leaves_no_row_and_keys_stay_private(env: Env) -> None:
    alice, mallory = env.new_member(points=100), env.new_member()
    perk = _perk(env, point_cost=7)
    env.index()
    h = env.sign_in(alice)
    typed = env.client.post(f"/perks/{perk['id']}/redeem/prepare", json={}, headers=h).json()
    # signed by someone else: refused, nothing recorded
    forged = {"forward": {"message": typed["message"], "signature": sign_typed(mallory, typed)}}
    key = f"secret-{uuid.uuid4().hex}"
    r = env.client.post(
        f"/perks/{perk['id']}/redeem", json=forged, headers={**h, "Idempotency-Key": key}
    )
    _err(r, 400, "invalid_signature")
    # the real signature works under the same key (the refusal did not take it)
    good = {"forward": {"message": typed["message"], "signature": sign_typed(alice, typed)}}
    r = env.client.post(
        f"/perks/{perk['id']}/redeem", json=good, headers={**h, "Idempotency-Key": key}
    )
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    # replaying the used signature under a new key: refused, nothing recorded
    r = env.client.post(
        f"/perks/{perk['id']}/redeem", json=good, headers={**h, "Idempotency-Key": key + "-2"}
    )
    assert r.status_code in (400, 409), r.text
    with env.state.engine.connect() as conn:
        rows = conn.execute(select(T_RED).where(T_RED.c.perk_id == perk["id"])).mappings().all()
    assert [(x["status"], x["idem_key"]) for x in rows] == [("confirmed", key)]
    listed = env.client.get("/brands/acme/redemptions", headers=env.h("acme:viewer")).json()
    mine = [x for x in listed if x["perk_id"] == perk["id"]]
    assert [x["status"] for x in mine] == ["confirmed"]
    assert all("idem_key" not in x and "request_hash" not in x for x in listed)
    assert key not in str(listed)
