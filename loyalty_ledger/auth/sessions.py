"""Customer sessions: short-lived HMAC-signed tokens bound to one address and to a session row
(listed and revocable by the member, whichever way they signed in)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.auth.principal import (
    SESSION_TTL,
    AuthenticationFailed,
    Principal,
)
from loyalty_ledger.store.customers import MemberSession
from loyalty_ledger.store.offchain import ApiSecret, table
from loyalty_ledger.validate import checksum_address


@dataclass(frozen=True)
class Session:
    token: str
    address: str
    expires_at: int
    session_id: str = ""


_secret_cache: dict[str, bytes] = {}
_secret_lock = threading.Lock()


def _secret(engine: Engine) -> bytes:
    """The session-signing secret of this database (created once, shared by all workers)."""
    key = str(engine.url)
    cached = _secret_cache.get(key)
    if cached is not None:
        return cached
    with _secret_lock:
        t = table(ApiSecret)
        with engine.begin() as conn:
            row = conn.execute(select(t.c.secret).where(t.c.id == 1)).scalar()
        if row is None:
            try:
                with engine.begin() as conn:
                    conn.execute(insert(t).values(id=1, secret=secrets.token_hex(32)))
            except IntegrityError:
                pass  # another worker won the race; read its secret
            with engine.begin() as conn:
                row = conn.execute(select(t.c.secret).where(t.c.id == 1)).scalar_one()
        _secret_cache[key] = bytes.fromhex(row)
        return _secret_cache[key]


def server_secret(engine: Engine) -> bytes:
    """The server's secret of this database, for keys derived from it (unsubscribe links,
    webhook signing): never stored anywhere else, never shown."""
    return _secret(engine)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def _unb64(text: str) -> bytes:
    """Canonical unpadded base64url only: no padding, no stray characters, no spare bits set
    (each token has exactly one spelling, so a tampered copy is never accepted)."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not unpadded base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def new_session(
    *, engine: Engine, address: str, ttl: int = SESSION_TTL, method: str = "siwe", client: str = ""
) -> Session:
    """Open a session (a row the member can list and revoke) and sign its token."""
    now = int(time.time())
    sub = str(checksum_address(address))
    sid = secrets.token_hex(12)
    with engine.begin() as conn:
        conn.execute(
            insert(table(MemberSession)).values(
                session_id=sid,
                address=sub,
                method=method,
                created_at=now,
                expires_at=now + ttl,
                auth_at=now,
                client=client[:200],
            )
        )
    payload = {"sub": sub, "sid": sid, "iat": now, "exp": now + ttl}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_secret(engine), body.encode(), hashlib.sha256).digest())
    return Session(token=f"s1.{body}.{sig}", address=sub, expires_at=now + ttl, session_id=sid)


def verify_session(*, engine: Engine, token: str) -> Principal:
    """The customer a session token belongs to; AuthenticationFailed when invalid, expired or
    revoked (signed out)."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "s1":
        raise AuthenticationFailed("not a session token")
    expected = hmac.new(_secret(engine), parts[1].encode(), hashlib.sha256).digest()
    try:
        given = _unb64(parts[2])
        if not hmac.compare_digest(expected, given):
            raise ValueError
        payload = json.loads(_unb64(parts[1]))
        address, exp, sid = checksum_address(payload["sub"]), int(payload["exp"]), payload["sid"]
    except Exception:
        raise AuthenticationFailed("invalid session token") from None
    if exp <= time.time():
        raise AuthenticationFailed("the session has expired; sign in again")
    t = table(MemberSession)
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.session_id == str(sid))).mappings().first()
    if row is None or row["address"] != address:
        raise AuthenticationFailed("invalid session token")
    if row["revoked_at"] is not None:
        raise AuthenticationFailed("this session was signed out; sign in again")
    return Principal(
        kind="customer", address=address, session_id=row["session_id"], auth_at=row["auth_at"]
    )


def list_sessions(*, engine: Engine, address: str) -> list[dict[str, object]]:
    """The member's sessions that are still open, newest first."""
    t = table(MemberSession)
    now = int(time.time())
    q = (
        select(t.c.session_id, t.c.method, t.c.created_at, t.c.expires_at, t.c.auth_at, t.c.client)
        .where(t.c.address == address, t.c.revoked_at.is_(None), t.c.expires_at > now)
        .order_by(t.c.created_at.desc())
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def revoke_session(*, engine: Engine, address: str, session_id: str) -> bool:
    """Sign a session of this member out; False when it is not theirs or not open."""
    t = table(MemberSession)
    with engine.begin() as conn:
        res = conn.execute(
            update(t)
            .where(t.c.session_id == session_id, t.c.address == address, t.c.revoked_at.is_(None))
            .values(revoked_at=int(time.time()))
        )
    return res.rowcount == 1


def step_up(*, engine: Engine, session_id: str) -> int:
    """Record a fresh proof of presence (passkey or email code) on a session; its time."""
    now = int(time.time())
    t = table(MemberSession)
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.session_id == session_id).values(auth_at=now))
    return now
