"""An order's point-of-sale time (`ordered_at`): timezone-aware, not before the programme began
(the time of the block that deployed its points contract), at most 5 minutes in the future.
A survey answer's time (`answered_at`) has the same bounds (`event_time`)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from functools import lru_cache

from web3 import Web3

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.errors import InvalidInput

MAX_FUTURE_SECONDS = 300  # an order time may run this far ahead of ours (POS clock skew)
EARLIEST_ORDER = 946_684_800  # 2000-01-01T00:00:00Z, the floor when the start is unknown


def _iso(ts: int) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):  # beyond what a datetime holds
        return str(ts)


@lru_cache(maxsize=256)
def _deployed_at(w3: Web3, block: int, points: str) -> int:
    return int(w3.eth.get_block(block)["timestamp"])


def programme_start(w3: Web3, program: Program) -> int:
    """When the programme began: the time of the block that deployed its points contract."""
    return _deployed_at(w3, program.block, program.points)


def order_time(
    value: datetime | str | None, *, now: float | None = None, earliest: int = EARLIEST_ORDER
) -> int | None:
    """An order's point-of-sale time as Unix seconds (None: not given, the claim time is used).

    It must say its timezone, may be at most MAX_FUTURE_SECONDS ahead of our clock, and not
    before `earliest` (the programme's start; 2000-01-01 when unknown).
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                "ordered_at must be an ISO 8601 time with a timezone, e.g. 2026-11-29T10:15:00Z"
            ) from None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(
            "ordered_at must be an ISO 8601 time with a timezone, e.g. 2026-11-29T10:15:00Z"
        )
    return event_time(math.floor(value.timestamp()), "ordered_at", now=now, earliest=earliest)


def event_time(
    ts: int, what: str, *, now: float | None = None, earliest: int = EARLIEST_ORDER
) -> int:
    """A business event's time in Unix seconds (an order's, a survey answer's), checked: at
    most MAX_FUTURE_SECONDS ahead of our clock and not before `earliest`."""
    clock = time.time() if now is None else now
    if ts > clock + MAX_FUTURE_SECONDS:
        raise InvalidInput(
            f"{what} {_iso(ts)} is more than {MAX_FUTURE_SECONDS // 60} minutes in the "
            f"future (server time {_iso(int(clock))})"
        )
    if ts < earliest:
        raise InvalidInput(f"{what} {_iso(ts)} is before the programme began ({_iso(earliest)})")
    return ts
