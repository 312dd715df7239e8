"""Email one-time codes through a real SMTP server (aiosmtpd), on SQLite and PostgreSQL: sign-up
with a managed key, single use, five wrong codes then a cool-down, sending limits, the one
session model (list, revoke, sign out), and a session that acts only for its own member."""

from __future__ import annotations

import uuid

from loyalty_ledger.auth import email_codes

from ..api.conftest import Env
from .conftest import Inbox, bearer, email_sign_in


def _email() -> str:
    return f"m{uuid.uuid4().hex[:10]}@example.test"


def test_email_sign_up_then_sign_in_again(any_m_env: Env, smtp: tuple[Inbox, int]) -> None:
    env, inbox = any_m_env, smtp[0]
    email = _email()
    first = email_sign_in(env, inbox, email.upper())  # the address is case-insensitive
    assert first["created"] is True and str(first["member_id"]).startswith("M")
    mail = [m for m in inbox.messages if m["To"] == email][-1]
    assert mail["From"] == "Loyalty <no-reply@example.test>" and "Your code" in mail["Subject"]
    me = env.client.get("/members/me", headers=bearer(str(first["token"]))).json()
    assert me["member_id"] == first["member_id"] and me["managed_key"] is True
    assert me["address"] == first["address"] and me["card_qr"].startswith("data:image/svg+xml")
    again = email_sign_in(env, inbox, email)
    assert again["created"] is False and again["address"] == first["address"]


def test_a_code_works_once(any_m_env: Env, smtp: tuple[Inbox, int]) -> None:
    env, inbox, email = any_m_env, smtp[0], _email()
    env.client.post("/auth/email/start", json={"email": email})
    code = inbox.last_code(email)
    assert (
        env.client.post("/auth/email/verify", json={"email": email, "code": code}).status_code
        == 200
    )
    r = env.client.post("/auth/email/verify", json={"email": email, "code": code})
    assert r.status_code == 401 and "expired or used" in r.json()["detail"]


def test_five_wrong_codes_start_a_cool_down(any_m_env: Env, smtp: tuple[Inbox, int]) -> None:
    env, inbox, email = any_m_env, smtp[0], _email()
    env.client.post("/auth/email/start", json={"email": email})
    code = inbox.last_code(email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [
        env.client.post("/auth/email/verify", json={"email": email, "code": wrong})
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert "1 tries left" in answers[3].json()["detail"]
    assert (
        answers[4].json()["error"] == "rate_limited"
        and int(answers[4].headers["Retry-After"]) > 800
    )
    # The right code no longer works, and no new code is sent during the cool-down.
    r = env.client.post("/auth/email/verify", json={"email": email, "code": code})
    assert r.status_code == 429
    sent = len(inbox.messages)
    assert env.client.post("/auth/email/start", json={"email": email}).status_code == 429
    assert len(inbox.messages) == sent


def test_sending_is_limited_per_address(any_m_env: Env, smtp: tuple[Inbox, int]) -> None:
    env, email = any_m_env, _email()
    codes = [
        env.client.post("/auth/email/start", json={"email": email}).status_code for _ in range(6)
    ]
    assert codes == [202] * email_codes.SENDS_PER_ADDRESS + [429]


def test_bad_input_is_a_clear_4xx(any_m_env: Env) -> None:
    env = any_m_env
    r = env.client.post("/auth/email/start", json={"email": "not-an-address"})
    assert r.status_code == 422 and "email" in r.json()["detail"]
    r = env.client.post("/auth/email/verify", json={"email": _email(), "code": "12ab"})
    assert r.status_code == 422 and "6 digits" in r.json()["detail"]
    r = env.client.post("/auth/email/verify", json={"email": _email(), "code": "123456"})
    assert r.status_code == 401


def test_sessions_are_listed_revoked_and_signed_out(
    any_m_env: Env, smtp: tuple[Inbox, int]
) -> None:
    env, inbox, email = any_m_env, smtp[0], _email()
    phone = email_sign_in(env, inbox, email)
    laptop = email_sign_in(env, inbox, email)
    h_phone, h_laptop = bearer(str(phone["token"])), bearer(str(laptop["token"]))
    listed = env.client.get("/auth/sessions", headers=h_laptop).json()
    assert len(listed) == 2 and {s["method"] for s in listed} == {"email"}
    assert [s["current"] for s in listed].count(True) == 1
    phone_id = next(s["session_id"] for s in listed if not s["current"])
    assert env.client.delete(f"/auth/sessions/{phone_id}", headers=h_laptop).status_code == 200
    r = env.client.get("/members/me", headers=h_phone)
    assert r.status_code == 401 and "signed out" in r.json()["detail"]
    assert env.client.post("/auth/sign-out", headers=h_laptop).status_code == 200
    assert env.client.get("/members/me", headers=h_laptop).status_code == 401


def test_a_session_acts_only_for_its_member(any_m_env: Env, smtp: tuple[Inbox, int]) -> None:
    env, inbox = any_m_env, smtp[0]
    a = email_sign_in(env, inbox, _email())
    b = email_sign_in(env, inbox, _email())
    h_a = bearer(str(a["token"]))
    assert env.client.get(f"/customers/{b['address']}", headers=h_a).status_code == 403
    body = {"brand_id": "acme", "kind": "gift", "to": a["address"], "amount": 1}
    r = env.client.post(f"/customers/{b['address']}/transfers/prepare", json=body, headers=h_a)
    assert r.status_code == 403
    # Another member's session id cannot be revoked by A.
    b_sessions = env.client.get("/auth/sessions", headers=bearer(str(b["token"]))).json()
    r = env.client.delete(f"/auth/sessions/{b_sessions[0]['session_id']}", headers=h_a)
    assert r.status_code == 404
    assert env.client.get("/members/me", headers=bearer(str(b["token"]))).status_code == 200


def test_sending_is_limited_per_client(any_m_env: Env) -> None:
    env = any_m_env
    codes = [
        env.client.post("/auth/email/start", json={"email": _email()}).status_code
        for _ in range(email_codes.SENDS_PER_CLIENT + 1)
    ]
    assert codes == [202] * email_codes.SENDS_PER_CLIENT + [429]
