"""Who is calling: Sign-In with Ethereum (EIP-4361) for customers, hashed API keys for the rest.

Customers get a short-lived HMAC-signed session token bound to one address after a verified
SIWE message with a server-issued, single-use nonce. Brands, the operator and auditors use API
keys; only the SHA-256 of a key's secret is stored (the secret is 256 random bits, so a fast
hash is the right one), and a key carries its kind, brand and roles.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from .errors import LedgerError
from .store.offchain import ApiKey, ApiSecret, SiweNonce, table
from .validate import checksum_address

BRAND_ROLES = ("issuer", "redeemer", "perk_manager", "viewer")
KEY_KINDS = ("brand", "operator", "auditor")
NONCE_TTL = 600  # seconds a sign-in nonce may wait for its signature
SESSION_TTL = 900  # seconds a customer session lives
CLOCK_SKEW = 60  # seconds of tolerated clock difference for issued-at in the future
KEY_CACHE_TTL = 2.0  # seconds a verified key is trusted without a DB read (revocation latency)


# --- errors ----------------------------------------------------------------------------------


class AuthenticationFailed(LedgerError):
    """No valid credentials (HTTP 401)."""

    code = "unauthenticated"


class Forbidden(LedgerError):
    """Valid credentials without the right to do this (HTTP 403)."""

    code = "forbidden"


class SiweRejected(AuthenticationFailed):
    """A sign-in message that parses but must not open a session."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]


class MalformedSiwe(LedgerError):
    """A sign-in message that is not valid EIP-4361 text (HTTP 400)."""

    code = "malformed_message"


# --- principals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    kind: str  # customer | brand | operator | auditor
    address: str | None = None  # customers
    brand_id: str | None = None  # brand keys
    roles: frozenset[str] = field(default_factory=frozenset)
    key_id: str | None = None

    def can_read_brand(self, brand_id: str) -> bool:
        return self.kind in ("operator", "auditor") or (
            self.kind == "brand" and self.brand_id == brand_id
        )

    def has_brand_role(self, brand_id: str, role: str) -> bool:
        """Write access to a brand: its own key with `role`, or the operator."""
        if self.kind == "operator":
            return True
        return self.kind == "brand" and self.brand_id == brand_id and role in self.roles

    def can_read_member(self, address: str) -> bool:
        """Customers see only themselves; brand keys, the operator and auditors see anyone."""
        if self.kind == "customer":
            return self.address == address
        return True


# --- SIWE ------------------------------------------------------------------------------------


def parse_siwe(text: str):  # type: ignore[no-untyped-def]
    """Parse EIP-4361 text (ABNF grammar); MalformedSiwe when it is not a valid message."""
    from siwe import SiweMessage  # imported lazily: building the ABNF grammar takes a moment

    if not isinstance(text, str) or not text or len(text) > 8192:
        raise MalformedSiwe("the sign-in message is empty or too long")
    try:
        return SiweMessage.from_message(text, abnf=True)
    except Exception as exc:  # the parser raises ValueError, ValidationError, ParseError ...
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MalformedSiwe(f"not a valid EIP-4361 message: {first[:200]}") from None


def _when(value: object) -> datetime:
    text = str(value)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedSiwe(f"not an ISO 8601 time: {text!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def verify_siwe(
    text: str,
    signature: str,
    *,
    domain: str,
    uri: str | None,
    chain_id: int,
    nonce: str | None = None,
    now: datetime | None = None,
    max_age: int | None = None,
    max_future: int | None = CLOCK_SKEW,
):  # type: ignore[no-untyped-def]
    """Check a signed SIWE message without touching the nonce store; returns the message.

    Checks the grammar, domain, URI, chain id, version, nonce (when given), issued-at (not
    more than `max_future` s ahead, not older than `max_age`), expiration and not-before, and
    that the EIP-191 signature over exactly `text` recovers the message's address.
    """
    msg = parse_siwe(text)
    at = now or datetime.now(UTC)
    if msg.domain != domain:
        raise SiweRejected("domain_mismatch", f"message is for {msg.domain!r}, not {domain!r}")
    if uri is not None and str(msg.uri) != uri:
        raise SiweRejected("uri_mismatch", f"message URI {msg.uri!r} is not {uri!r}")
    if msg.scheme and uri is not None and not uri.startswith(f"{msg.scheme}://"):
        raise SiweRejected("scheme_mismatch", f"message scheme {msg.scheme!r} does not match")
    if int(msg.chain_id) != chain_id:
        raise SiweRejected("chain_mismatch", f"message is for chain {msg.chain_id}, not {chain_id}")
    if str(msg.version) != "1":
        raise SiweRejected("version_mismatch", "only SIWE version 1 is accepted")
    if nonce is not None and msg.nonce != nonce:
        raise SiweRejected("nonce_mismatch", "the message carries another nonce")
    issued = _when(msg.issued_at)
    if max_future is not None and (issued - at).total_seconds() > max_future:
        raise SiweRejected("not_yet_valid", "the message is issued in the future")
    if max_age is not None and (at - issued).total_seconds() > max_age:
        raise SiweRejected("expired", "the message was issued too long ago")
    if msg.expiration_time is not None and at >= _when(msg.expiration_time):
        raise SiweRejected("expired", "the message has expired")
    if msg.not_before is not None and at < _when(msg.not_before):
        raise SiweRejected("not_yet_valid", "the message is not valid yet")
    if not isinstance(signature, str):
        raise SiweRejected("invalid_signature", "the signature must be 0x-hex text")
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        if len(raw) != 65:
            raise ValueError("length")
        signer = Account.recover_message(encode_defunct(text=text), signature=raw)
    except Exception:
        raise SiweRejected("invalid_signature", "the signature is malformed") from None
    if signer != msg.address:
        raise SiweRejected("invalid_signature", f"signed by {signer}, not {msg.address}")
    return msg


def issue_nonce(*, engine: Engine, ttl: int = NONCE_TTL) -> tuple[str, int]:
    """A fresh single-use nonce (alphanumeric, 96 bits), stored until it expires."""
    now = int(time.time())
    nonce = secrets.token_hex(12)
    t = table(SiweNonce)
    with engine.begin() as conn:
        conn.execute(t.delete().where(t.c.expires_at < now - ttl))  # keep the table small
        conn.execute(insert(t).values(nonce=nonce, issued_at=now, expires_at=now + ttl))
    return nonce, now + ttl


def consume_nonce(*, engine: Engine, nonce: str) -> bool:
    """Atomically mark an issued, unexpired, unused nonce as used; False otherwise."""
    now = int(time.time())
    t = table(SiweNonce)
    with engine.begin() as conn:
        res = conn.execute(
            update(t)
            .where(t.c.nonce == nonce, t.c.used_at.is_(None), t.c.expires_at > now)
            .values(used_at=now)
        )
    return res.rowcount == 1


@dataclass(frozen=True)
class Session:
    token: str
    address: str
    expires_at: int


def sign_in(
    *,
    engine: Engine,
    message: str,
    signature: str,
    domain: str,
    uri: str | None,
    chain_id: int,
    ttl: int = SESSION_TTL,
) -> Session:
    """Verify a SIWE sign-in, consume its nonce, and open a session for its address."""
    msg = verify_siwe(
        message, signature, domain=domain, uri=uri, chain_id=chain_id, max_age=NONCE_TTL
    )
    if not consume_nonce(engine=engine, nonce=msg.nonce):
        raise SiweRejected("invalid_nonce", "the nonce is unknown, expired or used already")
    return new_session(engine=engine, address=msg.address, ttl=ttl)


# --- sessions --------------------------------------------------------------------------------

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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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


# --- API keys --------------------------------------------------------------------------------


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
    from .errors import InvalidInput

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
