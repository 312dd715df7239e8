"""The local default, as the demo runs it: no SMTP server (the code is read from the mail file
in the data dir); joining and gifts go through the outbox (on by default), waited for with the
test client's `Prefer: wait`."""

from __future__ import annotations

import re
import uuid
from email import message_from_bytes

from loyalty_ledger import ledger

from ..api.conftest import Env, env  # noqa: F401  (the fixture: no outbox, no SMTP)
from .conftest import bearer, points_of, writer_alongside


def _code_from_file(app_env: Env, email: str) -> str:
    for path in sorted((app_env.settings.data_dir / "mail").glob("*.eml"), reverse=True):
        msg = message_from_bytes(path.read_bytes())
        if msg["To"] == email:
            found = re.search(r"\b(\d{6})\b", msg.get_payload(decode=True).decode())
            assert found
            return found.group(1)
    raise AssertionError(f"no mail file to {email}")


def test_email_join_and_gift_without_smtp_or_outbox(env: Env) -> None:  # noqa: F811
    assert env.settings.outbox and not env.settings.smtp_host
    people = []
    for _ in range(2):
        email = f"n{uuid.uuid4().hex[:8]}@example.test"
        assert env.client.post("/auth/email/start", json={"email": email}).status_code == 202
        body = {"email": email, "code": _code_from_file(env, email)}
        people.append(env.client.post("/auth/email/verify", json=body).json())
    a, b = people
    for p in people:
        r = env.client.post("/members/me/join/acme", headers=bearer(p["token"]))
        assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    ledger.issue_points(
        sender=env.state.sender("brand"),
        program=env.deployment.program("acme"),
        member=a["address"],
        amount=30,
        reason="signup",
        ref="no-outbox",
    )
    gift = {"brand_id": "acme", "to": b["member_id"], "amount": 12}
    r = env.client.post("/members/me/gifts", json=gift, headers=bearer(a["token"]))
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    # Each join paid the brand's welcome bonus (its default signup rule: 100 points).
    assert (points_of(env, a["address"]), points_of(env, b["address"])) == (118, 112)


def test_email_sign_ins_and_joins_while_another_process_writes_never_answer_503(
    env: Env,  # noqa: F811
) -> None:
    """SQLite: a request whose transaction read before it wrote failed at once ("database is
    locked", 503) when another writer committed in between (CI saw it on this file's journey).
    A writer with its own engine commits in a loop meanwhile."""
    answers = []
    with writer_alongside(env.settings.database_url) as writes:
        for _ in range(12):
            email = f"w{uuid.uuid4().hex[:8]}@example.test"
            answers.append(env.client.post("/auth/email/start", json={"email": email}))
            body = {"email": email, "code": _code_from_file(env, email)}
            answers.append(env.client.post("/auth/email/verify", json=body))
            token = answers[-1].json()["token"]
            answers.append(env.client.get("/members/me", headers=bearer(token)))
        answers.append(env.client.post("/members/me/join/acme", headers=bearer(token)))
    assert writes[0] > 12  # the writer really ran alongside
    codes = [r.status_code for r in answers]
    assert all(c in (200, 202) for c in codes), [r.text for r in answers if r.is_error]
