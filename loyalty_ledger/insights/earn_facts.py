"""The confirmed earn records of a brand over a time window, per member, month and currency:
whole months from the `earn_month` rollup (kept by triggers in the transaction that writes the
records), the rest of a month the window cuts from the records themselves.

A month the window cuts is read whole from the rollup when no record of the brand lies in the
part the window leaves out (the usual case for a window that ends now), so a query reads a few
rows per member and month instead of every record, and answers exactly what the records do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from ..store.insights_tables import T_EARN_MEMBER, T_EARN_MONTH
from ..store.offchain import EarnRecord, table
from .period import month_index, month_start

T_EARN = table(EarnRecord)
T_ROLL, T_TOTAL = T_EARN_MONTH, T_EARN_MEMBER
FOREVER = 2**62  # after any record's time
COLUMNS = [
    "member",
    "month",
    "currency",
    "records",
    "orders",
    "spend",
    "items",
    "first_at",
    "last_at",
]


def any_record(conn: Connection, brand_id: str, lo: int, hi: int) -> bool:
    """Whether any record of the brand is timed in [lo, hi)."""
    if lo >= hi:
        return False
    t = T_EARN.c.ordered_at
    q = select(literal(1)).where(T_EARN.c.brand_id == brand_id, t >= lo, t < hi).limit(1)
    return conn.execute(q).first() is not None


def plan(
    conn: Connection, brand_id: str, lo: int | None, hi: int
) -> tuple[tuple[int | None, int] | None, list[tuple[int, int, int]]]:
    """How to read [lo, hi) (lo None: from the first record): the rollup's months (first, last;
    first None: from the first), and (month, start, end) ranges to read from the records."""
    if lo is not None and lo >= hi:
        return None, []
    last = month_index(hi - 1)
    first = None if lo is None else month_index(lo)
    raw: list[tuple[int, int, int]] = []
    lo_m, hi_m = first, last
    edges = {last} if first is None else {first, last}
    for m in sorted(edges):
        a = month_start(m) if lo is None else max(lo, month_start(m))
        b = min(hi, month_start(m + 1))
        if (a, b) == (month_start(m), month_start(m + 1)):
            continue  # the window holds the whole month
        if not (
            any_record(conn, brand_id, month_start(m), a)
            or any_record(conn, brand_id, b, month_start(m + 1))
        ):
            continue  # nothing left out: the month's rollup rows are the window's
        raw.append((m, a, b))
        if m == lo_m:
            lo_m = m + 1
        if m == hi_m:
            hi_m = m - 1
    if lo_m is not None and lo_m > hi_m:
        return None, raw
    return (lo_m, hi_m), raw


def facts(
    conn: Connection, *, brand_id: str, lo: int | None, hi: int, purchases: str | None = None
) -> Subquery:
    """The brand's confirmed earn records timed in [lo, hi) (lo None: all before hi), as rows
    (member, month, currency, records, orders, spend, items, first_at, last_at) with the
    rollup's meaning; a member, month and currency may have more than one row. `purchases`: only
    the rows of purchases in that currency (what `bought` selects), filtered before they are
    grouped (their `records` then count only some of the records: not to be read)."""
    months, raw = plan(conn, brand_id, lo, hi)
    r = T_ROLL.c
    parts: list[Select[Any]] = []
    if months is not None:
        first, last = months
        cond = [r.brand_id == brand_id, r.month <= last]
        if first is not None:
            cond.append(r.month >= first)
        if purchases is not None:
            cond += [r.currency == purchases, r.orders > 0]
        parts.append(select(*[r[c] for c in COLUMNS]).where(*cond))
    for m, a, b in raw:
        parts.append(_records(brand_id, m, a, b, purchases))
    if not parts:  # an empty window: no rows of the right shape
        parts.append(_records(brand_id, 0, 0, 0))
    if len(parts) == 1:
        return parts[0].subquery("facts")
    return union_all(*parts).subquery("facts")


def _records(
    brand_id: str, month: int, a: int, b: int, purchases: str | None = None
) -> Select[Any]:
    """The records of [a, b) (inside `month`) in the rollup's shape (`purchases`: only those
    in that currency)."""
    e, t = T_EARN.c, T_EARN.c.ordered_at
    bought = and_(e.reason == "purchase", e.order_amount.is_not(None))
    currency = func.coalesce(e.currency, "")
    q = (
        select(
            e.member,
            literal(month, Integer).label("month"),
            currency.label("currency"),
            func.count().label("records"),
            func.sum(case((bought, 1), else_=0)).label("orders"),
            func.sum(case((bought, e.order_amount), else_=0)).label("spend"),
            func.sum(case((bought, func.coalesce(e.items_count, 0)), else_=0)).label("items"),
            func.min(case((bought, t))).label("first_at"),
            func.max(case((bought, t))).label("last_at"),
        )
        .where(e.brand_id == brand_id, e.status == "confirmed", t >= a, t < b)
        .group_by(e.member, currency)
    )
    if purchases is not None:
        q = q.where(bought, e.currency == purchases)
    return q


def member_totals(conn: Connection, *, brand_id: str, hi: int | None = None) -> Subquery | None:
    """The brand's `earn_member` rows (per member and currency, all time: the rollup's columns
    but the month, and first_record_at); with `hi`, only when they are the records before it
    (no record of the brand at or after `hi`), else None."""
    if hi is not None and any_record(conn, brand_id, hi, FOREVER):
        return None
    return select(T_TOTAL).where(T_TOTAL.c.brand_id == brand_id).subquery("totals")


def bought(f: Subquery | Any, currency: str) -> ColumnElement[bool]:
    """Rows of purchases in the brand's currency."""
    return and_(f.c.currency == currency, f.c.orders > 0)
