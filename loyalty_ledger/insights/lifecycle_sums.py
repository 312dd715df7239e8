"""clv and lapse churn counted in SQL: what `lifecycle_queries.clv_history` and `churn_history`
give per customer, summed by the database, so that only the figures (and one spend per customer
for the distributions) come back, not a row and an object per customer.

The same rows as those functions read (the rollups `earn_member`, `earn_month`, and the records
of a month a window cuts, through `timed` and `purchases_in`); the tests compare the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, Text, and_, case, cast, func, or_, select

from .earn_facts import bought
from .lifecycle import WindowCounts
from .lifecycle_queries import Window, purchases_in, timed, totals
from .period import DAY, Period
from .together import Read


@dataclass(frozen=True)
class ClvSums:
    """Each customer's spend to T and all their orders; the last window's counts; each
    period customer's spend and all their orders."""

    lifetime: list[int]
    lifetime_orders: int
    window: WindowCounts
    in_period: list[int]
    period_orders: int

    @classmethod
    def of(cls, results: list[Any]) -> ClvSums:
        """From the results of `clv_reads`, in order."""
        (lifetime, orders), window, (spends, period_orders) = results
        return cls(lifetime, orders, window, spends, period_orders)


@dataclass(frozen=True)
class LapseSums:
    """The counts of `lifecycle.lapse_churn` and `lifecycle.lapsed`."""

    at_start: int
    new: int
    churned: int
    base: int
    lapsed: int


def _one(f: Any, w: Window, col: str) -> Any:
    inside = and_(f.c.t >= w[0], f.c.t < w[1])
    return func.sum(case((inside, f.c[col]), else_=0))


def _spend(conn: Connection, q: Select[Any]) -> tuple[list[int], int]:
    """Per member rows (orders, spend) of `q`: the spends and the orders of them all, in one
    row (the spends joined in a string: no row per customer to fetch)."""
    per = q.subquery("per")
    n, s = per.c[0], cast(per.c[1], Text)
    joined = func.string_agg(s, ",") if conn.dialect.name == "postgresql" else func.group_concat(s)
    text, orders = conn.execute(select(joined, func.sum(n))).one()
    return ([int(v) for v in text.split(",")] if text else []), int(orders or 0)


def lifetime_spend(
    conn: Connection, brand_id: str, currency: str, hi: int
) -> tuple[list[int], int]:
    """Per member who bought before `hi`: spend; and their orders."""
    f = totals(conn, brand_id, hi)
    q = (
        select(func.sum(f.c.orders), func.coalesce(func.sum(f.c.spend), 0))
        .where(bought(f, currency))
        .group_by(f.c.member)
    )
    return _spend(conn, q)


def window_counts(
    conn: Connection, *, brand_id: str, currency: str, end: int, n: int
) -> WindowCounts:
    """The customers who bought in [end - 2n, end - n), their purchases in [end - n, end), and
    how many of them bought nothing then."""
    opened, window = (end - 2 * n, end - n), (end - n, end)
    f = timed(conn, brand_id=brand_id, currency=currency, lo=opened[0], hi=end, edges=[opened[1]])
    per = (
        select(
            _one(f, opened, "orders").label("o"),
            _one(f, window, "orders").label("wo"),
            _one(f, window, "spend").label("ws"),
        )
        .group_by(f.c.member)
        .subquery("per")
    )
    q = select(
        func.count(), func.sum(per.c.wo), func.sum(per.c.ws), func.sum(case((per.c.wo == 0, 1)))
    ).where(per.c.o > 0)
    customers, orders, revenue, churned = conn.execute(q).one()
    return WindowCounts(int(customers), int(orders or 0), int(revenue or 0), int(churned or 0))


def clv_reads(*, brand_id: str, currency: str, period: Period, days: int) -> list[Read]:
    """What `report.clv` reads, as reads that may run at once (`ClvSums.of` their results):
    lifetime spend to T, the last churn window, the period to T."""
    end, start = period.as_of, period.start

    def in_period(conn: Connection) -> tuple[list[int], int]:
        if start >= end:
            return [], 0
        f = timed(conn, brand_id=brand_id, currency=currency, lo=start, hi=end, edges=[])
        q = select(func.sum(f.c.orders), func.coalesce(func.sum(f.c.spend), 0))
        return _spend(conn, q.where(f.c.t >= start, f.c.t < end).group_by(f.c.member))

    return [
        lambda conn: lifetime_spend(conn, brand_id, currency, end),
        lambda conn: window_counts(
            conn, brand_id=brand_id, currency=currency, end=end, n=days * DAY
        ),
        in_period,
    ]


def clv_sums(
    conn: Connection, *, brand_id: str, currency: str, period: Period, days: int
) -> ClvSums:
    """What `report.clv` reads, on one connection."""
    reads = clv_reads(brand_id=brand_id, currency=currency, period=period, days=days)
    return ClvSums.of([read(conn) for read in reads])


def lapse_sums(
    conn: Connection, *, brand_id: str, currency: str, period: Period, days: int
) -> LapseSums:
    """Customers (bought before T) active at the start (a purchase in the N days before it),
    new in the period at least N days before T, the churned of both (no purchase in the last
    N days before T), and those whose first purchase is N days before T and the lapsed of them.
    """
    end, n, start = period.as_of, days * DAY, period.start
    cutoff = end - n
    f = totals(conn, brand_id, end)
    life = (
        select(
            f.c.member,
            func.min(f.c.first_at).label("fa"),
            func.max(f.c.last_at).label("la"),
        )
        .where(bought(f, currency))
        .group_by(f.c.member)
        .subquery("life")
    )
    new = and_(life.c.fa >= start, life.c.fa < cutoff)
    gone = life.c.la < cutoff
    old = life.c.fa < cutoff
    u = purchases_in(conn, brand_id, currency, start - n, min(start, end))
    if u is None:
        at_start: Any = False
        src: Any = life
    else:
        lasts = select(u.c.member).group_by(u.c.member).subquery("active")
        at_start = lasts.c.member.is_not(None)
        src = life.outerjoin(lasts, lasts.c.member == life.c.member)

    def count(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    q = select(
        count(at_start),
        count(new),
        count(and_(or_(at_start, new), gone)),
        count(old),
        count(and_(old, gone)),
    ).select_from(src)
    return LapseSums(*(int(x or 0) for x in conn.execute(q).one()))
