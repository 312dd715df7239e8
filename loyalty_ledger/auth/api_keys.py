"""API keys for brands, the operator and auditors: only the SHA-256 of a secret is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

from sqlalchemy import Engine, insert, select, update

from loyalty_ledger.auth.principal import (
    BRAND_ROLES,
    KEY_CACHE_TTL,
    KEY_KINDS,
    AuthenticationFailed,
    Principal,
)
from loyalty_ledger.store.offchain import ApiKey, table


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    *,
    engine: Engine,
    kind: str,
    brand_id: str | None = None,
    roles: Iterable[str] = (),
    label: str = "",
) -> tuple[str, str]:
    """Create a key; returns (key id, the full key). The full key is shown once, never stored."""
    from loyalty_ledger.errors import InvalidInput

    roles = sorted(set(roles))
    if kind not in KEY_KINDS:
        raise InvalidInput(f"key kind must be one of {', '.join(KEY_KINDS)}")
    if kind == "brand":
        if not brand_id:
            raise InvalidInput("a brand key needs a brand id")
        bad = [r for r in roles if r not in BRAND_ROLES]
        if bad or not roles:
            raise InvalidInput(f"brand key roles must be some of {', '.join(BRAND_ROLES)}")
    elif brand_id or roles:
        raise InvalidInput(f"an {kind} key has no brand and no roles")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            insert(table(ApiKey)).values(
                key_id=key_id,
                secret_hash=_hash(secret),
                kind=kind,
                brand_id=brand_id,
                roles=",".join(roles),
                label=label,
                created_at=int(time.time()),
            )
        )
    _key_cache.clear()
    return key_id, f"llk_{key_id}_{secret}"


def revoke_api_key(*, engine: Engine, key_id: str) -> bool:
    """Revoke a key; False when no active key has this id."""
    t = table(ApiKey)
    with engine.begin() as conn:
        res = conn.execute(
            update(t)
            .where(t.c.key_id == key_id, t.c.revoked_at.is_(None))
            .values(revoked_at=int(time.time()))
        )
    _key_cache.clear()
    return res.rowcount == 1


def list_api_keys(*, engine: Engine) -> list[dict[str, object]]:
    t = table(ApiKey)
    cols = [c for c in t.c if c.name != "secret_hash"]
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(*cols).order_by(t.c.created_at)).mappings()]


_key_cache: dict[str, tuple[float, Principal]] = {}


def cached_key(key: str) -> Principal | None:
    """The principal of a key verified in the last KEY_CACHE_TTL seconds (no I/O), or None."""
    hit = _key_cache.get(_hash(key))
    if hit is not None and time.monotonic() - hit[0] < KEY_CACHE_TTL:
        return hit[1]
    return None


def authenticate_key(*, engine: Engine, key: str) -> Principal:
    """The principal of an API key; AuthenticationFailed when unknown, malformed or revoked."""
    now = time.monotonic()
    digest = _hash(key)
    hit = _key_cache.get(digest)
    if hit is not None and now - hit[0] < KEY_CACHE_TTL:
        return hit[1]
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "llk" or not parts[1] or not parts[2]:
        raise AuthenticationFailed("malformed API key")
    t = table(ApiKey)
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.key_id == parts[1])).mappings().first()
    if row is None or not hmac.compare_digest(row["secret_hash"], _hash(parts[2])):
        raise AuthenticationFailed("unknown API key")
    if row["revoked_at"] is not None:
        raise AuthenticationFailed("the API key was revoked")
    principal = Principal(
        kind=row["kind"],
        brand_id=row["brand_id"],
        roles=frozenset(r for r in row["roles"].split(",") if r),
        key_id=row["key_id"],
    )
    if len(_key_cache) > 10_000:
        _key_cache.clear()
    _key_cache[digest] = (now, principal)
    return principal
