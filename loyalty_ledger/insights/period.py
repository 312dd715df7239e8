"""Periods and calendar months (UTC) of the insights; months are indexed year * 12 + month - 1."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ..errors import InvalidInput

MAX_SPAN = 10 * 366 * 86400  # ten years: a bound on the month series a request can ask for


def month_index(ts: int) -> int:
    """The UTC calendar month of a Unix time."""
    d = datetime.fromtimestamp(ts, UTC)
    return d.year * 12 + d.month - 1


def month_start(index: int) -> int:
    """Unix time of the first second of month `index`."""
    return int(datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC).timestamp())


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Period:
    """[start, end) in Unix seconds."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput("the period must end after it starts")
        if self.end - self.start > MAX_SPAN:
            raise InvalidInput("a period spans at most ten years")

    @property
    def length(self) -> int:
        return self.end - self.start

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - self.length, self.start)

    def months(self) -> list[int]:
        """Every calendar month the period touches, in order."""
        return list(range(month_index(self.start), month_index(self.end - 1) + 1))

    def to_json(self) -> dict[str, str | int]:
        return {
            "from": _iso(self.start),
            "to": _iso(self.end),
            "start": self.start,
            "end": self.end,
        }


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_day(text: str, what: str) -> int:
    """A date (YYYY-MM-DD, UTC midnight) or a full ISO time, as Unix seconds."""
    try:
        if len(text) == 10:
            return int(
                datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC).timestamp()
            )
        d = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{what} must be a date YYYY-MM-DD or an ISO time") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return int(d.timestamp())


def make_period(start: str | None, end: str | None, *, now: int | None = None) -> Period:
    """The period [from, to); defaults: `to` = the start of next month, `from` = 12 months back."""
    now = int(time.time()) if now is None else now
    stop = parse_day(end, "to") if end else month_start(month_index(now) + 1)
    begin = parse_day(start, "from") if start else month_start(month_index(stop - 1) - 11)
    return Period(begin, stop)
