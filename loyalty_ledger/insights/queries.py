"""The SQL shell of the insights: aggregates from the earn records and survey answers (the
points, from the mirror, are in `ledger_queries`).

Every query aggregates in SQL (per member, per month) so that the Python side handles
thousands of rows, not the raw history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    and_,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from ..store.insights_tables import T_SURVEY
from ..store.offchain import EarnRecord, table
from .earn_facts import bought, facts, member_totals
from .lifecycle import CustomerHistory
from .metrics import CustomerStats, MonthStats
from .period import DAY, Period, month_start

T_EARN = table(EarnRecord)

# Purchase time is the order's own (POS) time, not when the brand recorded the earning.
earn_time = T_EARN.c.ordered_at


def month_of(conn: Connection, ts: Any, months: list[int]) -> ColumnElement[int]:
    """SQL: the month index (year * 12 + month - 1, UTC) of a Unix-seconds column whose values
    fall in `months` (consecutive)."""
    # Comparisons with the known month starts cost far less per row than calendar functions
    # (strftime on SQLite, extract(to_timestamp) on PostgreSQL).
    if len(months) == 1:
        return literal(months[0], Integer)
    return case(*[(ts >= month_start(m), m) for m in reversed(months[1:])], else_=months[0])


def _activity(brand_id: str) -> ColumnElement[bool]:
    return and_(T_EARN.c.brand_id == brand_id, T_EARN.c.status == "confirmed")


def _per_member(
    conn: Connection, brand_id: str, currency: str, lo: int | None, hi: int
) -> dict[str, tuple[int, int, int, int | None, int | None]]:
    """Per member who bought in [lo, hi): orders, spend, items, first and last purchase."""
    every = None if lo is not None else member_totals(conn, brand_id=brand_id, hi=hi)
    f = (
        every
        if every is not None
        else facts(conn, brand_id=brand_id, lo=lo, hi=hi, purchases=currency)
    )
    q = (
        select(
            f.c.member,
            func.sum(f.c.orders),
            func.sum(f.c.spend),
            func.sum(f.c["items"]),
            func.min(f.c.first_at),
            func.max(f.c.last_at),
        )
        .where(bought(f, currency))
        .group_by(f.c.member)
    )
    return {
        m: (int(n), int(s or 0), int(i or 0), a and int(a), b and int(b))
        for m, n, s, i, a, b in conn.execute(q)
    }


def _members(conn: Connection, brand_id: str, lo: int, hi: int) -> set[str]:
    """The members with any confirmed record in [lo, hi)."""
    f = facts(conn, brand_id=brand_id, lo=lo, hi=hi)
    return {m for (m,) in conn.execute(select(f.c.member).distinct())}


def customer_stats(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> list[CustomerStats]:
    """Orders, spend and items per customer who bought in the period."""
    rows = _per_member(conn, brand_id, currency, period.start, period.end)
    return [CustomerStats(m, n, s, i) for m, (n, s, i, _a, _b) in rows.items()]


def month_stats(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> list[MonthStats]:
    """Orders, revenue, items and customers per calendar month (every month, zeros included)."""
    f = facts(conn, brand_id=brand_id, lo=period.start, hi=period.end, purchases=currency)
    q = (
        select(
            f.c.month,
            func.sum(f.c.orders),
            func.sum(f.c.spend),
            func.sum(f.c["items"]),
            func.count(func.distinct(f.c.member)),
        )
        .where(bought(f, currency))
        .group_by(f.c.month)
    )
    rows = {int(m): (int(n), int(r or 0), int(i or 0), int(c)) for m, n, r, i, c in conn.execute(q)}
    return [MonthStats(m, *rows.get(m, (0, 0, 0, 0))) for m in period.months()]


def period_totals(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> dict[str, int]:
    """Orders, revenue and distinct customers of the period."""
    f = facts(conn, brand_id=brand_id, lo=period.start, hi=period.end, purchases=currency)
    q = select(
        func.sum(f.c.orders), func.sum(f.c.spend), func.count(func.distinct(f.c.member))
    ).where(bought(f, currency))
    n, r, c = conn.execute(q).one()
    return {"orders": int(n or 0), "revenue": int(r or 0), "customers": int(c)}


def customer_history(
    conn: Connection,
    *,
    brand_id: str,
    currency: str,
    period: Period,
    days: int,
    values: bool = True,
) -> list[CustomerHistory]:
    """Every customer's purchases before the as-of time T: with `values` (what the value
    metrics need), orders and spend all time, in the period and in the churn windows
    [T - 2N, T - N) and [T - N, T) (N = `days`); without, the times of the first and the last
    purchase, and of the last in the N days before the period (what churn needs; None when
    there is none). The rest is left at 0."""
    end, n = period.as_of, days * DAY
    every = _per_member(conn, brand_id, currency, None, end)
    if not values:
        near = _per_member(conn, brand_id, currency, period.start - n, min(period.start, end))
        return [
            CustomerHistory(m, 0, 0, int(a or 0), int(b or 0), near[m][4] if m in near else None)
            for m, (_k, _s, _i, a, b) in every.items()
        ]
    opened = _per_member(conn, brand_id, currency, end - 2 * n, end - n)
    window = _per_member(conn, brand_id, currency, end - n, end)
    inside = _per_member(conn, brand_id, currency, period.start, end)
    none = (0, 0, 0, None, None)
    return [
        CustomerHistory(
            member=m,
            orders=k,
            spend=s,
            first=0,
            last=0,
            last_before_start=None,
            active_at_window=m in opened,
            window_orders=window.get(m, none)[0],
            window_spend=window.get(m, none)[1],
            period_orders=inside.get(m, none)[0],
            period_spend=inside.get(m, none)[1],
        )
        for m, (k, s, _i, _a, _b) in every.items()
    ]


@dataclass(frozen=True)
class MemberMonths:
    """Each member's months of activity (any earn record) and of purchase, from the month
    before the period to its end; anything earlier in one bucket, EARLIER months before the
    period's first. With a previous period: who was active in it, and who in the period."""

    active: dict[str, set[int]]
    buying: dict[str, set[int]]
    before: set[str]
    during: set[str]

    def first(self, months: dict[str, set[int]]) -> dict[str, int]:
        """Each member's first month (an EARLIER bucket when it is before the buckets)."""
        return {m: min(ms) for m, ms in months.items()}


EARLIER = 2


def member_months(
    conn: Connection,
    *,
    brand_id: str,
    currency: str,
    period: Period,
    previous: Period | None = None,
    all_history: bool = False,
) -> MemberMonths:
    """The monthly series, the cohorts (`all_history`: to find first months) and the
    activity-based churn (`previous`: who was active in it, and who in the period)."""
    start = period.months()[0]
    since = month_start(start - 1)
    if previous is not None:
        since = min(since, previous.start)
    rows: list[Any] = []
    if all_history:  # the EARLIER bucket: anyone with a record before the month before
        since = month_start(start - 1)
        t = member_totals(conn, brand_id=brand_id)
        assert t is not None  # (no `hi`: always the rollup)
        early = case((and_(bought(t, currency), t.c.first_at < since), 1), else_=0)
        q = (
            select(t.c.member, literal(start - EARLIER), func.max(early))
            .where(t.c.first_record_at < since)
            .group_by(t.c.member)
        )
        rows = list(conn.execute(q))
    f = facts(conn, brand_id=brand_id, lo=since, hi=period.end)
    bucket = case((f.c.month < start - 1, start - EARLIER), else_=f.c.month).label("m")
    q = select(f.c.member, bucket, func.max(case((bought(f, currency), 1), else_=0))).group_by(
        f.c.member, bucket
    )
    out = MemberMonths(defaultdict(set), defaultdict(set), set(), set())
    for member, m, buys in [*rows, *conn.execute(q)]:
        out.active[member].add(int(m))
        if buys:
            out.buying[member].add(int(m))
    before, during = set(), set()
    if previous is not None:
        before = _members(conn, brand_id, previous.start, min(previous.end, period.end))
        during = _members(conn, brand_id, period.start, period.end)
    return MemberMonths(dict(out.active), dict(out.buying), before, during)


def first_activity(conn: Connection, *, brand_id: str, before: int | None = None) -> int | None:
    """The time of the brand's first confirmed earn record (its programme's start); with
    `before`, None as soon as any record is older (a cheap probe for an established brand)."""
    if before is not None:
        older = select(literal(1)).where(_activity(brand_id), earn_time < before).limit(1)
        if conn.execute(older).first() is not None:
            return None
    t = conn.execute(select(func.min(earn_time)).where(_activity(brand_id))).scalar()
    return None if t is None else int(t)


def survey_scores(conn: Connection, *, brand_id: str, period: Period) -> list[tuple[int, int]]:
    """(month, score) of every NPS answer in the period."""
    month = month_of(conn, T_SURVEY.c.answered_at, period.months()).label("m")
    q = (
        select(month, T_SURVEY.c.score, func.count())
        .where(
            T_SURVEY.c.brand_id == brand_id,
            T_SURVEY.c.answered_at >= period.start,
            T_SURVEY.c.answered_at < period.end,
        )
        .group_by(month, T_SURVEY.c.score)
    )
    out: list[tuple[int, int]] = []
    for m, score, n in conn.execute(q):
        out.extend([(int(m), int(score))] * int(n))
    return out
