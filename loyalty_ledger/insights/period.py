"""Periods and calendar months (UTC) of the insights; months are indexed year * 12 + month - 1.

A period is `[start, end)`; its as-of time is `end`, or now when the period is still running
(the period is then partial, and so is each month it cuts). The default period is the last
three full calendar months plus the current month to date.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ..errors import InvalidInput

MAX_SPAN = 10 * 366 * 86400  # ten years: a bound on the month series a request can ask for
FULL_MONTHS = 3  # the default period: this many full months before the current one
DAY = 86_400


def month_index(ts: int) -> int:
    """The UTC calendar month of a Unix time."""
    d = datetime.fromtimestamp(ts, UTC)
    return d.year * 12 + d.month - 1


def month_start(index: int) -> int:
    """Unix time of the first second of month `index`."""
    return int(datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC).timestamp())


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def shift_months(ts: int, k: int) -> int:
    """The same day and time of day `k` calendar months later (earlier when k < 0), the day
    clipped to the target month's length (31 March less one month is 28 or 29 February)."""
    d = datetime.fromtimestamp(ts, UTC)
    y, m = divmod(d.year * 12 + d.month - 1 + k, 12)
    day = min(d.day, calendar.monthrange(y, m + 1)[1])
    return int(d.replace(year=y, month=m + 1, day=day).timestamp())


def _clock() -> int:
    return int(time.time())


@dataclass(frozen=True)
class Period:
    """[start, end) in Unix seconds, seen at `now` (default: the wall clock)."""

    start: int
    end: int
    now: int = field(default_factory=_clock, compare=False)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput("the period must end after it starts")
        if self.end - self.start > MAX_SPAN:
            raise InvalidInput("a period spans at most ten years")

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def as_of(self) -> int:
        """The end, or now while the period runs (before its start for a future period)."""
        return min(self.end, self.now)

    @property
    def partial(self) -> bool:
        """The period has not ended yet."""
        return self.now < self.end

    def months(self) -> list[int]:
        """Every calendar month the period touches, in order."""
        return list(range(month_index(self.start), month_index(self.end - 1) + 1))

    def month_partial(self, m: int) -> bool:
        """Month `m` is cut by the period's start, its end or the as-of time."""
        return month_start(m) < self.start or month_start(m + 1) > self.as_of

    def previous(self) -> Period:
        """The calendar-aligned period before this one: as many calendar months back as the
        period touches, cut at the same point (a partial period meets a partial one)."""
        k = len(self.months())
        stop = self.as_of if self.as_of > self.start else self.end
        return Period(shift_months(self.start, -k), shift_months(stop, -k), self.now)

    def to_json(self) -> dict[str, object]:
        return {
            "from": iso(self.start),
            "to": iso(self.end),
            "start": self.start,
            "end": self.end,
            "as_of": iso(self.as_of),
            "partial": self.partial,
            "partial_months": [month_label(m) for m in self.months() if self.month_partial(m)],
        }


def iso(ts: int) -> str:
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


def make_period(
    start: str | None,
    end: str | None,
    *,
    now: int | None = None,
    first_activity: int | None = None,
) -> Period:
    """The period [from, to). Defaults: `to` = the start of tomorrow (today included), `from` =
    the first day of the month three full months before the last one, moved up to the first
    day of the programme's first month (`first_activity`) when the programme is younger."""
    now = _clock() if now is None else now
    stop = parse_day(end, "to") if end else (now // DAY + 1) * DAY
    if start:
        begin = parse_day(start, "from")
    else:
        begin = month_start(month_index(stop - 1) - FULL_MONTHS)
        if first_activity is not None and begin < first_activity < stop:
            begin = month_start(month_index(first_activity))
    return Period(begin, stop, now)
