"""Input checks that run before anything is sent: addresses, amounts, bytes32 codes."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address

from .errors import InvalidAddress, InvalidAmount, InvalidInput

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
UINT256_MAX = 2**256 - 1


def checksum_address(value: Any) -> ChecksumAddress:
    """A valid address in checksum form; mixed case must be a correct EIP-55 checksum."""
    if not isinstance(value, str):
        raise InvalidAddress(value)
    return _checksummed(value)


@lru_cache(maxsize=65_536)  # pure, and a keccak per call: hot paths check the same addresses
def _checksummed(value: str) -> ChecksumAddress:
    if not _HEX_ADDRESS.match(value):
        raise InvalidAddress(value)
    body = value[2:]
    checksummed = to_checksum_address(value)
    # All-lower or all-upper hex carries no checksum; mixed case must match EIP-55 exactly.
    if body != body.lower() and body != body.upper() and value != checksummed:
        raise InvalidAddress(value, "wrong EIP-55 checksum")
    return checksummed


def printable_text(value: Any, what: str) -> str:
    """Non-empty text of printable characters only (no control, format or line-separator
    characters; the plain space is fine): names people read on pages, receipts and wallets."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be non-empty text")
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        raise InvalidInput(f"{what} must be printable text (found U+{ord(bad):04X})")
    return value


def positive_amount(value: Any) -> int:
    """A whole number of points >= 1 (rejects bool, float, Decimal, str, 0, negatives)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(value, "must be a whole number (int)")
    if value <= 0:
        raise InvalidAmount(value, "must be at least 1")
    if value > UINT256_MAX:
        raise InvalidAmount(value, "too large")
    return value


def parse_amount(text: str) -> int:
    """Parse user text ('25') into a positive whole amount; '2.5', '-1', 'abc' are rejected."""
    cleaned = text.strip().replace("_", "")
    if not re.fullmatch(r"[+-]?\d+", cleaned):
        try:
            Decimal(cleaned)
        except ArithmeticError:
            raise InvalidAmount(text, "not a number") from None
        raise InvalidAmount(text, "must be a whole number")
    return positive_amount(int(cleaned))


def ascii_bytes32(text: str, *, what: str = "code", hash_long: bool = False) -> bytes:
    """ASCII text left-aligned in 32 bytes; longer text becomes its keccak256 when hash_long."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be text, got {type(text).__name__}")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} {text!r} must be ASCII") from None
    if len(raw) > 32:
        if hash_long:
            return keccak(raw)
        raise InvalidInput(f"{what} {text!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


def brand_id_bytes(brand_id: str) -> bytes:
    """The bytes32 form of a brand id: its ASCII, left-aligned, at most 32 bytes, not empty."""
    if not isinstance(brand_id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", brand_id):
        raise InvalidInput(f"brand id {brand_id!r} must be 1-32 chars of [A-Za-z0-9_.-]")
    return ascii_bytes32(brand_id, what="brand id")


def reason_bytes(reason: str) -> bytes:
    """A reason code ('purchase', 'signup' ...) as bytes32; must be non-empty, <= 32 bytes."""
    if not reason:
        raise InvalidInput("reason code must not be empty")
    return ascii_bytes32(reason, what="reason")


def ref_bytes(ref: str | bytes) -> bytes:
    """An external reference as bytes32: ASCII left-aligned, longer ones hashed (keccak256)."""
    if isinstance(ref, bytes):
        if len(ref) != 32:
            raise InvalidInput("a raw reference must be exactly 32 bytes")
        return ref
    return ascii_bytes32(ref, what="reference", hash_long=True)


@lru_cache(maxsize=65536)  # reason codes and references repeat: each decoded once
def text32(value: str) -> str:
    """The one text form of a bytes32 reason code or reference, for the mirror and the audit.

    Left-aligned printable ASCII (NUL-padded) is its text, exactly as issued: never
    case-folded, even when it looks like hex ("0x9aC4..." stays as written). Anything else
    (a hash, all zeros) is its lower-case 0x-hex, 66 characters, which no text can be.
    """
    raw = bytes.fromhex(value[2:]).rstrip(b"\0")
    if raw and all(32 <= b < 127 for b in raw):
        return raw.decode("ascii")
    return value.lower()


def decode_bytes32(raw: bytes) -> str:
    """bytes32 -> `text32`'s form; all zeros (no code) as the empty string."""
    return text32("0x" + bytes(raw).hex()) if bytes(raw).rstrip(b"\0") else ""
