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
    purchase and of the last before the period (what churn needs). The rest is left at 0."""
    t, amount = earn_time, T_EARN.c.order_amount
    end, n = period.as_of, days * DAY
    window, inside = t >= end - n, t >= period.start
    cols = (
        [
            func.count(),
            func.sum(amount),
            func.max(case((and_(t >= end - 2 * n, t < end - n), 1), else_=0)),
            func.sum(case((window, 1), else_=0)),
            func.sum(case((window, amount), else_=0)),
            func.sum(case((inside, 1), else_=0)),
            func.sum(case((inside, amount), else_=0)),
        ]
        if values
        else [func.min(t), func.max(t), func.max(case((t < period.start, t)))]
    )
    q = (
        select(T_EARN.c.member, *cols)
        .where(_activity(brand_id), _is_purchase(currency), t < end)
        .group_by(T_EARN.c.member)
    )
    if not values:
        return [
            CustomerHistory(m, 0, 0, int(first), int(last), None if b is None else int(b))
            for m, first, last, b in conn.execute(q)
        ]
    out = []
    for m, *row in conn.execute(q):
        k, s, active, wk, ws, pk, ps = (int(v or 0) for v in row)
        out.append(
            CustomerHistory(
                member=m,
                orders=k,
                spend=s,
                first=0,
                last=0,
                last_before_start=None,
                active_at_window=bool(active),
                window_orders=wk,
                window_spend=ws,
                period_orders=pk,
                period_spend=ps,
            )
        )
    return out


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
    """One scan for the monthly series, the cohorts (`all_history`: to find first months) and
    the activity-based churn (`previous`)."""
    start, t = period.months()[0], earn_time
    months = [start - EARLIER, start - 1, *period.months()]
    since = month_start(start - 1)
    if previous is not None:
        since = min(since, previous.start)
    bucket = month_of(conn, t, months).label("m")
    in_prev = (
        and_(t >= previous.start, t < previous.end) if previous is not None else literal(False)
    )
    q = (
        select(
            T_EARN.c.member,
            bucket,
            func.max(case((_is_purchase(currency), 1), else_=0)),
            func.max(case((in_prev, 1), else_=0)),
            func.max(case((t >= period.start, 1), else_=0)),
        )
        .where(_activity(brand_id), t < period.end, *([] if all_history else [t >= since]))
        .group_by(T_EARN.c.member, bucket)
    )
    out = MemberMonths(defaultdict(set), defaultdict(set), set(), set())
    for member, m, bought, was, now in conn.execute(q):
        out.active[member].add(int(m))
        if bought:
            out.buying[member].add(int(m))
        if was:
            out.before.add(member)
        if now:
            out.during.add(member)
    return MemberMonths(dict(out.active), dict(out.buying), out.before, out.during)


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
