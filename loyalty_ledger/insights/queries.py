"""The SQL shell of the insights: aggregates from the earn records and survey answers (the
points, from the mirror, are in `ledger_queries`).

Every query aggregates in SQL (per member, per month) so that the Python side handles
thousands of rows, not the raw history.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from ..store.insights_tables import T_SURVEY
from ..store.offchain import EarnRecord, table
from .lifecycle import CustomerHistory
from .metrics import CustomerStats, MonthStats
from .period import DAY, Period, month_index, month_start

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


def _is_purchase(currency: str) -> ColumnElement[bool]:
    """A purchase in the brand's currency (with an amount)."""
    return and_(
        T_EARN.c.reason == "purchase",
        T_EARN.c.currency == currency,
        T_EARN.c.order_amount.is_not(None),
    )


def _purchases(brand_id: str, currency: str, period: Period) -> ColumnElement[bool]:
    return and_(
        _activity(brand_id),
        _is_purchase(currency),
        earn_time >= period.start,
        earn_time < period.end,
    )


def _activity(brand_id: str) -> ColumnElement[bool]:
    return and_(T_EARN.c.brand_id == brand_id, T_EARN.c.status == "confirmed")


def customer_stats(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> list[CustomerStats]:
    """Orders, spend and items per customer who bought in the period."""
    q = (
        select(
            T_EARN.c.member,
            func.count(),
            func.sum(T_EARN.c.order_amount),
            func.sum(func.coalesce(T_EARN.c.items_count, 0)),
        )
        .where(_purchases(brand_id, currency, period))
        .group_by(T_EARN.c.member)
    )
    return [CustomerStats(m, int(n), int(s or 0), int(i or 0)) for m, n, s, i in conn.execute(q)]


def month_stats(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> list[MonthStats]:
    """Orders, revenue, items and customers per calendar month (every month, zeros included)."""
    month = month_of(conn, earn_time, period.months()).label("m")
    q = (
        select(
            month,
            func.count(),
            func.sum(T_EARN.c.order_amount),
            func.sum(func.coalesce(T_EARN.c.items_count, 0)),
            func.count(func.distinct(T_EARN.c.member)),
        )
        .where(_purchases(brand_id, currency, period))
        .group_by(month)
    )
    rows = {int(m): (int(n), int(r or 0), int(i or 0), int(c)) for m, n, r, i, c in conn.execute(q)}
    return [MonthStats(m, *rows.get(m, (0, 0, 0, 0))) for m in period.months()]


def active_before_and_during(
    conn: Connection, *, brand_id: str, period: Period
) -> tuple[set[str], set[str]]:
    """Members with any earn record (purchase or action) in the calendar-aligned previous
    period, and in the period itself (one scan)."""
    prev = period.previous()
    before = func.max(case((earn_time < period.start, 1), else_=0))
    during = func.max(case((earn_time >= period.start, 1), else_=0))
    q = (
        select(T_EARN.c.member, before, during)
        .where(
            _activity(brand_id),
            or_(
                and_(earn_time >= prev.start, earn_time < prev.end),
                and_(earn_time >= period.start, earn_time < period.end),
            ),
        )
        .group_by(T_EARN.c.member)
    )
    was, now = set(), set()
    for member, b, d in conn.execute(q):
        if b:
            was.add(member)
        if d:
            now.add(member)
    return was, now


def period_totals(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> dict[str, int]:
    """Orders, revenue and distinct customers of the period."""
    q = select(
        func.count(), func.sum(T_EARN.c.order_amount), func.count(func.distinct(T_EARN.c.member))
    ).where(_purchases(brand_id, currency, period))
    n, r, c = conn.execute(q).one()
    return {"orders": int(n), "revenue": int(r or 0), "customers": int(c)}


def customer_history(
    conn: Connection, *, brand_id: str, currency: str, period: Period, days: int
) -> list[CustomerHistory]:
    """Every customer's purchases before the as-of time T, with the marks of the period's
    start and of the churn windows [T - 2N, T - N) and [T - N, T) (N = `days`)."""
    t, amount = earn_time, T_EARN.c.order_amount
    end, n = period.as_of, days * DAY
    window = t >= end - n
    q = (
        select(
            T_EARN.c.member,
            func.count(),
            func.sum(amount),
            func.min(t),
            func.max(t),
            func.max(case((t < period.start, t))),
            func.max(case((and_(t >= end - 2 * n, t < end - n), 1), else_=0)),
            func.sum(case((window, 1), else_=0)),
            func.sum(case((window, amount), else_=0)),
        )
        .where(_activity(brand_id), _is_purchase(currency), t < end)
        .group_by(T_EARN.c.member)
    )
    return [
        CustomerHistory(
            member=m,
            orders=int(k),
            spend=int(s or 0),
            first=int(first),
            last=int(last),
            last_before_start=None if before is None else int(before),
            active_at_window=bool(active),
            window_orders=int(wk or 0),
            window_spend=int(ws or 0),
        )
        for m, k, s, first, last, before, active, wk, ws in conn.execute(q)
    ]


def member_months(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """The months each member was active in (any earn record), and bought in, from the month
    before the period to its end."""
    start = period.months()[0]
    month = month_of(conn, earn_time, [start - 1, *period.months()]).label("m")
    bought = func.max(case((_is_purchase(currency), 1), else_=0))
    q = (
        select(T_EARN.c.member, month, bought)
        .where(_activity(brand_id), earn_time >= month_start(start - 1), earn_time < period.end)
        .group_by(T_EARN.c.member, month)
    )
    active: dict[str, set[int]] = defaultdict(set)
    buying: dict[str, set[int]] = defaultdict(set)
    for member, m, b in conn.execute(q):
        active[member].add(int(m))
        if b:
            buying[member].add(int(m))
    return dict(active), dict(buying)


def first_months(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> tuple[dict[str, int], dict[str, int]]:
    """Each member's first month of activity ever, and of purchase ever (members first seen
    before the period ends)."""
    q = (
        select(
            T_EARN.c.member,
            func.min(earn_time),
            func.min(case((_is_purchase(currency), earn_time))),
        )
        .where(_activity(brand_id), earn_time < period.end)
        .group_by(T_EARN.c.member)
    )
    first: dict[str, int] = {}
    bought: dict[str, int] = {}
    for member, t, p in conn.execute(q):
        first[member] = month_index(int(t))
        if p is not None:
            bought[member] = month_index(int(p))
    return first, bought


def first_activity(conn: Connection, *, brand_id: str) -> int | None:
    """The time of the brand's first confirmed earn record (its programme's start)."""
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
