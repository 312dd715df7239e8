"""The console's API (SQLite and PostgreSQL): profiles through the member's session and the
brand's keys, consent, search and the 360° page, segments, notifications, webhooks, exports,
unsubscribe and erasure; viewers read but cannot change anything."""

from __future__ import annotations

import csv
import email
import io
import time
from email import policy
from pathlib import Path

from eth_utils import to_checksum_address
from sqlalchemy import insert

from loyalty_ledger.store import models as m
from loyalty_ledger.store.offchain import PerkRow, Redemption, table

from .conftest import PROGRAM, Api
from .test_segments import A, B, C, seed

CHECK_A = to_checksum_address(A)


def test_profile_by_the_member_and_the_brand(api: Api) -> None:
    c, url = api.client, f"/customers/{A}/profile?brand=acme"
    body = {"name": "Ann Example", "email": "Ann@Example.org", "phone": "+84 90 111 2222"}
    r = c.put(url, json=body, headers=api.h(A))
    assert r.status_code == 200, r.text
    assert r.json()["profile"]["email"] == "ann@example.org"
    assert c.put(url, json=body, headers=api.h(B)).status_code == 403  # someone else's
    assert c.put(url, json=body, headers=api.h("acme:perk_manager")).status_code == 403
    r = c.put(url, json={"birthday": "tomorrow"}, headers=api.h(A))
    assert r.status_code == 422 and r.json()["error"] == "invalid_input" and "birthday" in r.text
    assert c.put(url, json={"shoe": 42}, headers=api.h(A)).status_code == 422
    assert c.put(f"/customers/{A}/profile?brand=nope", json={}, headers=api.h(A)).status_code == 404
    seen = c.get(url, headers=api.h("acme:viewer")).json()["profile"]
    assert seen["consent"] is False and "email" not in seen
    assert c.get(url, headers=api.h("beta:viewer")).status_code == 403
    c.put(url, json={"consent": True}, headers=api.h(A))
    seen = c.get(url, headers=api.h("acme:viewer")).json()["profile"]
    assert seen["email"] == "ann@example.org" and seen["consent_source"] == "wallet"
    found = c.get("/brands/acme/members?q=ann@example.org", headers=api.h("acme:viewer"))
    assert found.json() == {"members": [CHECK_A]}
    assert c.delete(url, headers=api.h("acme:viewer")).status_code == 403
    assert c.delete(url, headers=api.h(A)).json()["erased"] == {"profiles": 1, "notifications": 0}
    assert c.get(url, headers=api.h(A)).json() == {"profile": None}


def test_search_360_segments_exports(api: Api) -> None:
    seed(api.engine)
    c, v, pm = api.client, api.h("acme:viewer"), api.h("acme:perk_manager")
    assert c.get("/brands/acme/members?q=0xa1a1", headers=v).json()["members"] == [CHECK_A]
    assert c.get("/brands/acme/members?q=0x", headers=v).status_code == 422
    page = c.get(f"/brands/acme/members/{A}", headers=v).json()
    assert page["balance"] == 500 and page["pass"]["tier"] == 2 and len(page["orders"]) == 8
    assert page["profile"]["name"] == "Ann" and page["scores"]["churn"]["gap_days"] == 7.0
    assert c.get("/brands/acme/members/0xnope", headers=v).status_code == 422
    rules = {"conditions": [{"field": "tier", "op": ">=", "value": 1}]}
    r = c.post("/brands/acme/segments/count", json={"rules": rules}, headers=v)
    assert r.json()["count"] == 2
    bad = {"conditions": [{"field": "iq", "op": ">", "value": 1}]}
    r = c.post("/brands/acme/segments/count", json={"rules": bad}, headers=v)
    assert r.status_code == 422 and "unknown segment field" in r.json()["detail"]
    seg = {"name": "Tiered", "rules": rules}
    assert c.post("/brands/acme/segments", json=seg, headers=v).status_code == 403
    assert (
        c.post("/brands/acme/segments", json=seg, headers=api.h("beta:perk_manager")).status_code
        == 403
    )
    sid = c.post("/brands/acme/segments", json=seg, headers=pm).json()["id"]
    listed = c.get("/brands/acme/segments", headers=v).json()["segments"]
    assert [(s["name"], s["count"]) for s in listed] == [("Tiered", 2)]
    text = c.get("/brands/acme/export/members.csv", headers=v).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["member"].lower() for r in rows} == {A, B, C, "0x" + "d4" * 20}
    prof = c.get("/brands/acme/export/profiles.csv", headers=v).text
    assert "Ann" in prof and "Hue" not in prof  # D has not consented
    assert c.get("/brands/acme/export/secrets.csv", headers=v).status_code == 404
    assert c.get("/brands/acme/export/orders.csv", headers=api.h("beta:viewer")).status_code == 403
    assert c.delete(f"/brands/acme/segments/{sid}", headers=v).status_code == 403
    assert c.delete(f"/brands/acme/segments/{sid}", headers=pm).status_code == 204
    assert c.delete(f"/brands/acme/segments/{sid}", headers=pm).status_code == 404


def test_send_to_a_segment_then_unsubscribe(api: Api, tmp_path: Path) -> None:
    seed(api.engine)
    c, v, pm = api.client, api.h("acme:viewer"), api.h("acme:perk_manager")
    rules = {"conditions": [{"field": "consent", "op": "==", "value": True}]}
    msg = {
        "rules": rules,
        "subject": "Hi {name}",
        "text": "You have {points} points",
        "send_id": "x1",
    }
    assert c.post("/brands/acme/notifications", json=msg, headers=v).status_code == 403
    r = c.post("/brands/acme/notifications", json=msg, headers=pm)
    assert r.status_code == 202 and r.json() == {
        "matched": 1,
        "queued": 1,
        "repeated": 0,
        "skipped": 0,
    }
    assert c.post("/brands/acme/notifications", json=msg, headers=pm).json()["repeated"] == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list((tmp_path / "mail").glob("*.eml")):
        time.sleep(0.1)
    (mail,) = (tmp_path / "mail").glob("*.eml")
    parsed = email.message_from_bytes(mail.read_bytes(), policy=policy.default)
    raw = parsed.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert parsed["Subject"] == "Hi Ann" and "You have 500 points" in raw
    link = next(w for w in raw.split() if w.startswith("http://shop.example/unsubscribe"))
    path = link.removeprefix("http://shop.example")
    page = c.get(path)
    assert page.status_code == 200 and 'id="unsubscribe"' in page.text
    assert c.get("/unsubscribe?t=forged").status_code == 422
    assert "no more messages" in c.post(path).text
    msg["send_id"] = "x2"
    assert c.post("/brands/acme/notifications", json=msg, headers=pm).json()["matched"] == 0
    assert c.get("/brands/acme/notifications", headers=v).json()["states"] == {"sent": 1}
    both = {**msg, "segment_id": 1}
    assert c.post("/brands/acme/notifications", json=both, headers=pm).status_code == 422
    hook = c.post("/brands/acme/webhooks", json={"url": "ftp://x"}, headers=pm)
    assert hook.status_code == 422
    hook = c.post("/brands/acme/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=pm).json()
    assert len(hook["secret"]) == 64
    listed = c.get("/brands/acme/webhooks", headers=v).json()["webhooks"]
    assert listed[0]["url"] == "http://127.0.0.1:9/h" and "secret" not in listed[0]
    assert c.delete(f"/brands/acme/webhooks/{hook['id']}", headers=pm).status_code == 204
    erased = c.delete(f"/brands/acme/members/{A}/profile", headers=pm).json()["erased"]
    # Her message, and the tier trigger's silent baseline row that the sender's first run wrote.
    assert erased == {"profiles": 1, "notifications": 2}


def test_triggers_endpoint(api: Api) -> None:
    seed(api.engine)
    c = api.client
    assert (
        c.post("/brands/acme/notifications/triggers", headers=api.h("acme:viewer")).status_code
        == 403
    )
    r = c.post("/brands/acme/notifications/triggers", headers=api.h("acme:perk_manager"))
    assert r.status_code == 202
    assert set(r.json()["queued"]) == {
        "points_expiring",
        "perk_available",
        "tier_changed",
        "birthday",
    }


def test_keys_by_the_operator(api: Api) -> None:
    c, op = api.client, api.h("operator")
    body = {"brand_id": "acme", "roles": ["viewer"], "label": "till 3"}
    assert c.post("/keys", json=body, headers=api.h("acme:perk_manager")).status_code == 403
    assert c.post("/keys", json={**body, "brand_id": "nope"}, headers=op).status_code == 404
    assert c.post("/keys", json={**body, "roles": ["god"]}, headers=op).status_code == 422
    made = c.post("/keys", json=body, headers=op).json()
    assert made["key"].startswith(f"llk_{made['key_id']}_")
    fresh = {"X-API-Key": made["key"]}
    assert c.get("/brands/acme/access", headers=fresh).json()["roles"] == ["viewer"]
    mine = c.get("/keys", headers=api.h("acme:viewer")).json()["keys"]
    assert {k["brand_id"] for k in mine} == {"acme"} and "secret_hash" not in mine[0]
    assert (
        c.delete(f"/keys/{made['key_id']}", headers=api.h("acme:perk_manager")).status_code == 403
    )
    assert c.delete(f"/keys/{made['key_id']}", headers=op).status_code == 204
    assert c.delete(f"/keys/{made['key_id']}", headers=op).status_code == 404
    assert c.delete("/keys/not-hex!", headers=op).status_code == 422
    time.sleep(2.1)  # verified keys are trusted from memory for KEY_CACHE_TTL seconds
    assert c.get("/brands/acme/access", headers=fresh).status_code == 401


def test_perk_results_by_tier(api: Api) -> None:
    seed(api.engine)
    now = int(time.time())
    perk, red = table(PerkRow), table(Redemption)
    with api.engine.begin() as conn:
        pid = conn.execute(
            insert(perk).values(brand_id="acme", name="Cake", point_cost=30, created_at=now)
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(insert(perk).values(brand_id="acme", name="Idle", created_at=now))
        rows = [(A, "confirmed"), (A, "confirmed"), (B, "confirmed"), (B, "failed")]
        for i, (who, status) in enumerate(rows):
            conn.execute(
                insert(red).values(
                    perk_id=pid, brand_id="acme", member=to_checksum_address(who), idem_key=f"k{i}",
                    points=30, method="forward", status=status, created_at=now,
                )
            )  # fmt: skip
    got = api.client.get("/brands/acme/perk-results", headers=api.h("acme:viewer")).json()
    slim = [
        (r["perk"], r["tier"], r["redemptions"], r["points"], r["members"]) for r in got["results"]
    ]
    assert sorted(slim, key=str) == sorted(
        [("Cake", None, 1, 30, 1), ("Cake", 2, 2, 60, 1), ("Idle", None, 0, 0, 0)], key=str
    )
    assert (
        api.client.get("/brands/acme/perk-results", headers=api.h("beta:viewer")).status_code == 403
    )


def test_360_pass_and_tier_history(api: Api) -> None:
    seed(api.engine)  # A holds pass 1 of PROGRAM at tier 2
    ev = m.Event.__table__  # type: ignore[attr-defined]
    rows = [
        ("PassIssued", {"tokenId": 1, "member": A, "tier": 0, "expiresAt": 0}),
        ("PassTierChanged", {"tokenId": 1, "fromTier": 0, "toTier": 2}),
        ("PassTierChanged", {"tokenId": 2, "fromTier": 0, "toTier": 1}),  # someone else's pass
    ]
    with api.engine.begin() as conn:
        for i, (name, args) in enumerate(rows):
            conn.execute(
                insert(ev).values(
                    chain_id=31337, block_number=10 + i, block_hash="0x" + "0" * 64,
                    tx_hash="0x" + f"{i:064x}", tx_index=0, log_index=0,
                    contract=PROGRAM.pass_, event=name, args=args,
                )
            )  # fmt: skip
    page = api.client.get(f"/brands/acme/members/{A}", headers=api.h("acme:viewer")).json()
    assert page["pass"] == {"token_id": 1, "tier": 2, "expires_at": 0}
    history = [
        (h["event"], h["block"], h.get("tier", h.get("toTier"))) for h in page["pass_history"]
    ]
    assert history == [("PassIssued", 10, 0), ("PassTierChanged", 11, 2)]
