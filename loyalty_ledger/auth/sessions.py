"""Customer sessions: short-lived HMAC-signed tokens bound to one address."""

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

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.auth.principal import (
    SESSION_TTL,
    AuthenticationFailed,
    Principal,
)
from loyalty_ledger.store.offchain import ApiSecret, table
from loyalty_ledger.validate import checksum_address


@dataclass(frozen=True)
class Session:
    token: str
    address: str
    expires_at: int


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


def session_secret_known(engine: Engine) -> bool:
    """Whether this process holds the signing secret (verifying a session then needs no I/O)."""
    return str(engine.url) in _secret_cache


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


def new_session(*, engine: Engine, address: str, ttl: int = SESSION_TTL) -> Session:
    now = int(time.time())
    sub = str(checksum_address(address))
    payload = {"sub": sub, "iat": now, "exp": now + ttl}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_secret(engine), body.encode(), hashlib.sha256).digest())
    return Session(token=f"s1.{body}.{sig}", address=sub, expires_at=now + ttl)


def verify_session(*, engine: Engine, token: str) -> Principal:
    """The customer a session token belongs to; AuthenticationFailed when invalid or expired."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "s1":
        raise AuthenticationFailed("not a session token")
    expected = hmac.new(_secret(engine), parts[1].encode(), hashlib.sha256).digest()
    try:
        given = _unb64(parts[2])
        if not hmac.compare_digest(expected, given):
            raise ValueError
        payload = json.loads(_unb64(parts[1]))
        address, exp = checksum_address(payload["sub"]), int(payload["exp"])
    except Exception:
        raise AuthenticationFailed("invalid session token") from None
    if exp <= time.time():
        raise AuthenticationFailed("the session has expired; sign in again")
    return Principal(kind="customer", address=address)
