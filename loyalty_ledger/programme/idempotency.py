"""Idempotent requests: a stable hash of a request's canonical body, stored with the record it
created, so a retry under the same key is told apart from another request reusing the key.

The semantics follow the IETF Idempotency-Key draft: the same key with the same body replays
the first answer; the same key with a different body is refused (`IdempotencyConflict`, 409).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from loyalty_ledger.errors import IdempotencyConflict


def request_hash(body: Any) -> str:
    """SHA-256 (hex) of `body` as canonical JSON (sorted keys, no spaces; bytes as 0x-hex)."""

    def default(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return "0x" + bytes(value).hex()
        raise TypeError(f"cannot hash a {type(value).__name__}")

    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=default)
    return hashlib.sha256(text.encode()).hexdigest()


def check_same(stored: str | None, given: str, what: str) -> None:
    """Refuse a replay whose body differs from the first request's (rows without a hash,
    written before hashes were kept, replay for any body)."""
    if stored is not None and stored != given:
        raise IdempotencyConflict(
            f"{what} was used already for a request with a different body; "
            "use a new key for a new request"
        )
