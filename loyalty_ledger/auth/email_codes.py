"""Email one-time codes: 6 digits, single use, 10 minutes, 5 tries then a cool-down; sending
is rate-limited per address and per client, both in the database (so every API process shares
one budget, on SQLite and PostgreSQL).

Only an HMAC of the code (keyed with the server's session secret) is stored, and only an HMAC of
the client's address for its limit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from loyalty_ledger.auth.principal import AuthenticationFailed, RateLimited
from loyalty_ledger.auth.sessions import _secret
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.store.customers import EmailClientLimit, EmailCode
from loyalty_ledger.store.offchain import table

CODE_TTL = 600  # seconds a code stays valid
MAX_TRIES = 5  # wrong codes before the cool-down
COOL_DOWN = 900  # seconds an address is locked after MAX_TRIES wrong codes
SEND_WINDOW = 3600  # seconds of the per-address sending budget
SENDS_PER_ADDRESS = 5  # codes one address may be sent per window
SENDS_PER_CLIENT = 30  # codes one client may ask for per CLIENT_WINDOW (any addresses)
CLIENT_WINDOW = 600  # seconds (a fixed window per client, started by its first code)
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,188}\.[A-Za-z]{2,24}")


def normalise_email(email: str) -> str:
    """The address as stored: trimmed, lower-case; InvalidInput when it is not an address."""
    text = email.strip().lower() if isinstance(email, str) else ""
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise InvalidInput("not an email address")
    return text


def _digest(key: bytes, email: str, code: str) -> str:
    return hmac.new(key, f"{email}:{code}".encode(), hashlib.sha256).hexdigest()


def _client_id(key: bytes, client: str) -> str:
    return hmac.new(key, f"client:{client}".encode(), hashlib.sha256).hexdigest()


def _count_client(conn: Connection, client_id: str, now: int) -> None:
    """Count one code for the client, or RateLimited. Conditional UPDATEs are atomic in every
    process (PostgreSQL re-checks the condition after a concurrent update; SQLite has one
    writer), so concurrent requests cannot overspend the budget."""
    t = table(EmailClientLimit)
    fresh = t.c.window_start > now - CLIENT_WINDOW
    for _ in range(2):
        mine = t.c.client == client_id
        spend = update(t).where(mine, fresh, t.c.sent < SENDS_PER_CLIENT)
        if conn.execute(spend.values(sent=t.c.sent + 1)).rowcount == 1:
            return
        renew = update(t).where(mine, ~fresh).values(window_start=now, sent=1)
        if conn.execute(renew).rowcount == 1:
            return
        start = conn.execute(select(t.c.window_start).where(mine)).scalar()
        if start is not None:
            raise RateLimited("too many codes asked for from here", start + CLIENT_WINDOW - now)
        conn.execute(delete(t).where(~fresh))  # forget clients whose window is over
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        new = dialect.insert(t).values(client=client_id, window_start=now, sent=1)
        new = new.on_conflict_do_nothing(index_elements=["client"]).returning(t.c.client)
        if conn.execute(new).first() is not None:  # (rowcount is -1 here on psycopg)
            return
    raise RateLimited("too many codes asked for from here", 1)  # raced twice: rare


def forget_clients(engine: Engine) -> None:
    """Start every client's sending budget afresh (tests and benchmarks from one client)."""
    with engine.begin() as conn:
        conn.execute(delete(table(EmailClientLimit)))


def issue_code(*, engine: Engine, email: str, client: str) -> str:
    """A fresh code for `email` (replacing an open one); RateLimited when over a budget or
    in a cool-down. The caller mails it."""
    email, now = normalise_email(email), int(time.time())
    t, key = table(EmailCode), _secret(engine)  # before the write transaction (SQLite locks)
    with engine.begin() as conn:
        # The client's count first: a write, so SQLite takes its write lock before any read;
        # a refusal below rolls the count back.
        _count_client(conn, _client_id(key, client), now)
        mine = select(t).where(t.c.email == email).with_for_update()  # PG: one at a time
        found = conn.execute(mine).mappings().first()
        if found is None:  # a first code: two requests at once both insert, one wins
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            first = dialect.insert(t).values(email=email, window_start=now)
            conn.execute(first.on_conflict_do_nothing(index_elements=["email"]))
            found = conn.execute(mine).mappings().one()  # ours, or the winner's (locked)
        row: dict[str, Any] = dict(found)
        if row["locked_until"] > now:
            raise RateLimited("too many wrong codes", row["locked_until"] - now)
        start, sent = row["window_start"], row["sent_in_window"]
        if now - start >= SEND_WINDOW:
            start, sent = now, 0
        if sent >= SENDS_PER_ADDRESS:
            raise RateLimited("too many codes sent to this address", start + SEND_WINDOW - now)
        code = f"{secrets.randbelow(10**6):06d}"
        conn.execute(
            update(t)
            .where(t.c.email == email)
            .values(
                code_hash=_digest(key, email, code),
                expires_at=now + CODE_TTL,
                tries=0,
                window_start=start,
                sent_in_window=sent + 1,
            )
        )
    return code


def check_code(*, engine: Engine, email: str, code: str) -> str:
    """Consume a right code and return the address; a wrong one counts a try (the fifth starts
    the cool-down). AuthenticationFailed or RateLimited otherwise."""
    email, now = normalise_email(email), int(time.time())
    if not isinstance(code, str) or not re.fullmatch(r"\d{6}", code.strip()):
        raise InvalidInput("the code is 6 digits")
    t, key = table(EmailCode), _secret(engine)
    with engine.begin() as conn:
        # A write first: SQLite takes its write lock before reading (a read upgraded later can
        # fail at once as "database is locked"), PostgreSQL locks the row, so concurrent wrong
        # codes are counted one after the other, none lost.
        conn.execute(update(t).where(t.c.email == email).values(tries=t.c.tries))
        row = conn.execute(select(t).where(t.c.email == email)).mappings().first()
        if row is not None and row["locked_until"] > now:
            raise RateLimited("too many wrong codes", row["locked_until"] - now)
        if row is None or row["code_hash"] is None or row["expires_at"] <= now:
            raise AuthenticationFailed("no open code for this address (expired or used): ask again")
        if hmac.compare_digest(row["code_hash"], _digest(key, email, code.strip())):
            conn.execute(update(t).where(t.c.email == email).values(code_hash=None, tries=0))
            return email
        tries = row["tries"] + 1
        if tries >= MAX_TRIES:
            conn.execute(
                update(t)
                .where(t.c.email == email)
                .values(code_hash=None, tries=0, locked_until=now + COOL_DOWN)
            )
        else:
            conn.execute(update(t).where(t.c.email == email).values(tries=tries))
    if tries >= MAX_TRIES:
        raise RateLimited("that was the fifth wrong code", COOL_DOWN)
    raise AuthenticationFailed(f"wrong code; {MAX_TRIES - tries} tries left")
