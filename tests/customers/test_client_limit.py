"""Email-code limits across processes: two API processes (real `loyalty api serve` processes,
one port each) on one SQLite or PostgreSQL database share one per-client sending budget, also
when a burst hits both at once (a new window starts it afresh); and concurrent wrong codes on
both are each counted, so the cool-down starts after exactly five."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import update

from loyalty_ledger.auth import email_codes
from loyalty_ledger.store.customers import EmailClientLimit
from loyalty_ledger.store.offchain import table

from ..api.conftest import Env
from ..outbox.fleet import Fleet
from .conftest import Inbox

LIMIT = email_codes.SENDS_PER_CLIENT


@pytest.fixture
def two_apis(any_m_env: Env, smtp: tuple[Inbox, int], tmp_path: Path) -> Iterator[list[str]]:
    """Two API processes on the environment's database, mailing to the test's SMTP server."""
    s = any_m_env.settings
    fleet = Fleet(
        tmp_path,
        rpc_url=s.rpc_url,
        database_url=str(s.database_url),
        deployment_file=Path(s.deployment_file),
        extra_env={
            "LOYALTY_DATA_DIR": str(s.data_dir),  # the key-encryption key of the database
            "LOYALTY_SMTP_HOST": "127.0.0.1",
            "LOYALTY_SMTP_PORT": str(smtp[1]),
            "LOYALTY_SMTP_TLS": "none",
        },
    )
    try:
        fleet.start(submitters=0, timeout=60)
        yield fleet.bases
    finally:
        fleet.cleanup()


def _start(base: str) -> int:
    email = f"c{uuid.uuid4().hex[:10]}@example.test"
    return requests.post(f"{base}/auth/email/start", json={"email": email}, timeout=30).status_code


def test_two_processes_share_one_budget_per_client(any_m_env: Env, two_apis: list[str]) -> None:
    a, b = two_apis
    first = [_start(a if i % 2 else b) for i in range(LIMIT - 10)]
    assert first == [202] * (LIMIT - 10)
    # A burst on both processes at once: exactly the 10 codes left are sent.
    with ThreadPoolExecutor(8) as pool:
        burst = list(pool.map(_start, [a, b] * 10))
    assert sorted(burst) == [202] * 10 + [429] * 10
    r = requests.post(f"{b}/auth/email/start", json={"email": "x@example.test"}, timeout=30)
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert 0 < int(r.headers["Retry-After"]) <= email_codes.CLIENT_WINDOW
    # The window over (moved back in the database), the client may ask again, on either one.
    t = table(EmailClientLimit)
    with any_m_env.state.engine.begin() as conn:
        conn.execute(update(t).values(window_start=t.c.window_start - email_codes.CLIENT_WINDOW))
    assert [_start(a), _start(b)] == [202, 202]
    with any_m_env.state.engine.connect() as conn:
        rows = conn.execute(t.select()).mappings().all()
    assert [r["sent"] for r in rows] == [2] and "127.0.0.1" not in rows[0]["client"]


def test_concurrent_wrong_codes_on_two_processes_count_every_try(
    two_apis: list[str], smtp: tuple[Inbox, int]
) -> None:
    """Twelve wrong codes at once, half on each process: every try is counted (none lost to a
    concurrent update), so at most four say "tries left", and the right code is locked out."""
    a, b = two_apis
    inbox, email = smtp[0], f"t{uuid.uuid4().hex[:10]}@example.test"
    assert requests.post(f"{a}/auth/email/start", json={"email": email}, timeout=30).ok
    code = inbox.last_code(email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    def verify(base: str, guess: str = wrong) -> requests.Response:
        body = {"email": email, "code": guess}
        return requests.post(f"{base}/auth/email/verify", json=body, timeout=30)

    with ThreadPoolExecutor(12) as pool:
        answers = [r.status_code for r in pool.map(verify, [a, b] * 6)]
    tries_left = email_codes.MAX_TRIES - 1
    assert sorted(answers) == [401] * tries_left + [429] * (12 - tries_left), answers
    r = verify(b, code)
    assert r.status_code == 429 and r.json()["error"] == "rate_limited", r.text


def test_first_codes_for_one_new_address_at_once_all_answer(any_m_env: Env) -> None:
    """Two first requests for the same new address at the same instant both inserted its row;
    on PostgreSQL the loser failed on the primary key (a 500). Now one inserts, the other
    waits for it and counts on: every request gets a code or the per-address limit."""
    import threading

    engine, email = any_m_env.state.engine, f"r{uuid.uuid4().hex[:10]}@example.test"
    start = threading.Barrier(8)

    def ask(i: int) -> str:
        start.wait(10)
        try:
            return email_codes.issue_code(engine=engine, email=email, client=f"10.9.0.{i}")
        except email_codes.RateLimited:
            return "limited"

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    sent = [a for a in answers if a != "limited"]
    assert len(sent) == email_codes.SENDS_PER_ADDRESS and all(len(c) == 6 for c in sent)
    assert answers.count("limited") == 8 - email_codes.SENDS_PER_ADDRESS
