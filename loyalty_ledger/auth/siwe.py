"""Sign-In with Ethereum (EIP-4361): parse and verify the message, single-use nonces, sign-in."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import Engine, insert, update

from loyalty_ledger.auth.principal import (
    CLOCK_SKEW,
    NONCE_TTL,
    SESSION_TTL,
    MalformedSiwe,
    SiweRejected,
)
from loyalty_ledger.auth.sessions import Session, new_session
from loyalty_ledger.store.offchain import SiweNonce, table

_CHAIN_LINE = re.compile(r"\nVersion: [^\n]*\nChain ID: ([^\n]*)\n")


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
    # The chain id as written, not as a number: "031337" is not the "31337" the API advertised.
    # The grammar fixes the line's place (after "Version"), so a statement cannot fake it.
    written = _CHAIN_LINE.search(text)
    if int(msg.chain_id) != chain_id or written is None or written[1] != str(chain_id):
        shown = written[1] if written else msg.chain_id
        raise SiweRejected("chain_mismatch", f"message is for chain {shown!r}, not {chain_id}")
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
