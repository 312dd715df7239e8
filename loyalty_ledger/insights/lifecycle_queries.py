"""The lifecycle metrics (clv, churn, retention) in one pass each: SQL sums over the rollups
(`earn_month`, `earn_member`) give per member, or per month, only what the metric needs, instead
of one read of the history per window. `queries.customer_history` and `queries.member_months`
say the same from several reads (the tests compare them).

A window's purchases come from `timed`: a month's rollup row stands at the month's start when
no record of the month lies at or after a window's edge inside it (the usual case for the
month of an as-of time that is now), else the month's records each stand at their own time.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from ..store.insights_tables import T_EARN_MEMBER, T_EARN_MONTH
from .earn_facts import T_EARN, any_record, bought, facts, member_totals
from .lifecycle import CustomerHistory
from .period import DAY, Period, month_index, month_start

Window = tuple[int, int]


def _months_at(col: Any, months: list[int]) -> ColumnElement[int]:
    """SQL: the start time of the month held in `col` (one of `months`)."""
    return case(*[(col == m, literal(month_start(m))) for m in months], else_=literal(0))


def timed(
    conn: Connection, *, brand_id: str, currency: str, lo: int, hi: int, edges: list[int]
) -> Subquery:
    """The brand's purchases in `currency` from month(lo) to month(hi - 1) as rows (member, t,
    orders, spend, last): whole months from the rollup at the month's start (`last`: its last
    purchase), months that an edge in `edges` (or lo, hi) cuts with records after it record by
    record. Callers select by `t` against windows whose edges are in `edges`."""
    whole: list[int] = []
    parts: list[Select[Any]] = []
    e = T_EARN.c
    for m in range(month_index(lo), month_index(hi - 1) + 1):
        a, b = month_start(m), month_start(m + 1)
        inner = [x for x in (lo, hi, *edges) if a < x < b]
        if not inner or not any_record(conn, brand_id, min(inner), b):
            whole.append(m)
            continue
        parts.append(
            select(
                e.member,
                e.ordered_at.label("t"),
                literal(1, Integer).label("orders"),
                e.order_amount.label("spend"),
                e.ordered_at.label("last"),
            ).where(
                e.brand_id == brand_id,
                e.status == "confirmed",
                e.reason == "purchase",
                e.order_amount.is_not(None),
                e.currency == currency,
                e.ordered_at >= max(lo, a),  # every window lies in [lo, hi)
                e.ordered_at < min(hi, b),
            )
        )
    r = T_EARN_MONTH.c
    if whole:
        parts.append(
            select(
                r.member,
                _months_at(r.month, whole).label("t"),
                r.orders,
                r.spend,
                r.last_at.label("last"),
            ).where(
                r.brand_id == brand_id,
                r.month.in_(whole),
                r.currency == currency,
                r.orders > 0,
            )
        )
    if len(parts) == 1:
        return parts[0].subquery("timed")
    return union_all(*parts).subquery("timed")


def _in(f: Subquery, w: Window) -> ColumnElement[bool]:
    return and_(f.c.t >= w[0], f.c.t < w[1])


def _sum_in(f: Subquery, w: Window, col: str) -> Any:
    return func.sum(case((_in(f, w), f.c[col]), else_=0))


def _lifetime(
    conn: Connection, brand_id: str, currency: str, hi: int
) -> dict[str, tuple[int, int, int, int]]:
    """Per member who bought before `hi`: orders, spend, first and last purchase."""
    f = totals(conn, brand_id, hi)
    q = select(f.c.member, f.c.orders, f.c.spend, f.c.first_at, f.c.last_at).where(
        bought(f, currency)
    )
    out: dict[str, list[int]] = {}
    for m, n, s, a, b in conn.execute(q):
        row = out.get(m)
        if row is None:
            out[m] = [int(n), int(s or 0), int(a), int(b)]
        else:  # a window's facts: a member may have several rows
            row[0] += int(n)
            row[1] += int(s or 0)
            row[2], row[3] = min(row[2], int(a)), max(row[3], int(b))
    return {m: (n, s, a, b) for m, (n, s, a, b) in out.items()}


def totals(conn: Connection, brand_id: str, hi: int) -> Subquery:
    every = member_totals(conn, brand_id=brand_id, hi=hi)
    return every if every is not None else facts(conn, brand_id=brand_id, lo=None, hi=hi)


def clv_history(
    conn: Connection, *, brand_id: str, currency: str, period: Period, days: int
) -> list[CustomerHistory]:
    """`queries.customer_history` with values: every customer's orders and spend before T, in
    the period and in the churn windows, from one read of the months from T - 2N."""
    end, n = period.as_of, days * DAY
    every = _lifetime(conn, brand_id, currency, end)
    opened, window, inside = (end - 2 * n, end - n), (end - n, end), (period.start, end)
    lo = min(opened[0], inside[0])
    per: dict[str, tuple[int, int, int, int, int]] = {}
    if lo < end:
        f = timed(
            conn,
            brand_id=brand_id,
            currency=currency,
            lo=lo,
            hi=end,
            edges=[*opened, *window, *inside],
        )
        q = select(
            f.c.member,
            _sum_in(f, opened, "orders"),
            _sum_in(f, window, "orders"),
            _sum_in(f, window, "spend"),
            _sum_in(f, inside, "orders"),
            _sum_in(f, inside, "spend"),
        ).group_by(f.c.member)
        per = {
            m: (int(a or 0), int(b or 0), int(c or 0), int(d or 0), int(e or 0))
            for m, a, b, c, d, e in conn.execute(q)
        }
    none = (0, 0, 0, 0, 0)
    out = []
    for m, (k, s, _a, _b) in every.items():
        o, wo, ws, po, ps = per.get(m, none)
        out.append(CustomerHistory(m, k, s, 0, 0, None, o > 0, wo, ws, po, ps))
    return out


def purchases_in(
    conn: Connection, brand_id: str, currency: str, lo: int, hi: int
) -> Subquery | None:
    """Rows (member, last) of the purchases in [lo, hi), per member the last among them: a
    month's `last_at` when it is at or after lo (the month's last purchase is then the
    window's in that month), and the records of a month that hi cuts with records after it;
    None for an empty window."""
    if lo >= hi:
        return None
    r, e = T_EARN_MONTH.c, T_EARN.c
    first, last = month_index(lo), month_index(hi - 1)
    end = month_start(last + 1)
    cut = hi < end and any_record(conn, brand_id, hi, end)
    parts: list[Select[Any]] = []
    if (top := last - 1 if cut else last) >= first:
        parts.append(
            select(r.member, r.last_at.label("last")).where(
                r.brand_id == brand_id,
                r.month.between(first, top),
                r.currency == currency,
                r.orders > 0,
                r.last_at >= lo,
            )
        )
    if cut:
        parts.append(
            select(e.member, e.ordered_at.label("last")).where(
                e.brand_id == brand_id,
                e.status == "confirmed",
                e.reason == "purchase",
                e.order_amount.is_not(None),
                e.currency == currency,
                e.ordered_at >= max(lo, month_start(last)),
                e.ordered_at < hi,
            )
        )
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("lasts")


def last_in(conn: Connection, brand_id: str, currency: str, lo: int, hi: int) -> dict[str, int]:
    """Per member, the time of the last purchase in [lo, hi) (`purchases_in`)."""
    u = purchases_in(conn, brand_id, currency, lo, hi)
    if u is None:
        return {}
    q = select(u.c.member, func.max(u.c["last"])).group_by(u.c.member)
    return {m: int(t) for m, t in conn.execute(q)}


def churn_history(
    conn: Connection, *, brand_id: str, currency: str, period: Period, days: int
) -> list[CustomerHistory]:
    """`queries.customer_history` without values: first and last purchase before T, and the
    last in the N days before the period's start."""
    end, n = period.as_of, days * DAY
    every = _lifetime(conn, brand_id, currency, end)
    last = last_in(conn, brand_id, currency, period.start - n, min(period.start, end))
    return [CustomerHistory(m, 0, 0, a, b, last.get(m)) for m, (_k, _s, a, b) in every.items()]


@dataclass(frozen=True)
class CohortCounts:
    """Per cohort month: its size, its members in each later month, and (activity cohorts)
    how many never bought."""

    size: dict[int, int]
    active: dict[tuple[int, int], int]
    never_bought: dict[int, int]


def cohort_counts(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> tuple[CohortCounts, CohortCounts]:
    """Cohorts by first purchase (retained: bought that month) and by first activity (any
    record), for the cohort months of the period: what `queries.member_months` gives with all
    history, counted in SQL."""
    months = period.months()
    lo, hi = month_start(months[0]), period.end
    t = T_EARN_MEMBER.c
    buys = and_(t.currency == currency, t.orders > 0)
    firsts = (
        select(
            t.member,
            func.min(case((buys, t.first_at))).label("fb"),
            func.min(t.first_record_at).label("fa"),
        )
        .where(t.brand_id == brand_id)
        .group_by(t.member)
        .subquery("firsts")
    )
    # Only members whose first purchase or activity is in the period are in a cohort.
    newcomers = or_(
        and_(firsts.c.fb >= lo, firsts.c.fb < hi), and_(firsts.c.fa >= lo, firsts.c.fa < hi)
    )
    f = facts(conn, brand_id=brand_id, lo=lo, hi=hi)
    mm = (
        select(
            f.c.member, f.c.month, func.max(case((bought(f, currency), 1), else_=0)).label("buys")
        )
        .where(f.c.member.in_(select(firsts.c.member).where(newcomers)))
        .group_by(f.c.member, f.c.month)
        .subquery("mm")
    )

    def month_of(col: Any) -> ColumnElement[int]:
        inside = and_(col >= lo, col < hi)
        steps = [(and_(inside, col >= month_start(m)), m) for m in reversed(months)]
        return case(*steps, else_=-1)

    fb, fa = month_of(firsts.c.fb).label("cb"), month_of(firsts.c.fa).label("ca")
    sized = select(fb, fa, (firsts.c.fb < hi).label("bought")).where(newcomers).subquery("sized")
    buying, active = CohortCounts({}, {}, {}), CohortCounts({}, {}, {})
    q = select(sized.c.cb, sized.c.ca, sized.c.bought, func.count()).group_by(
        sized.c.cb, sized.c.ca, sized.c.bought
    )
    for cb, ca, has_bought, n in conn.execute(q):
        if int(cb) >= 0:
            buying.size[int(cb)] = buying.size.get(int(cb), 0) + int(n)
        if int(ca) >= 0:
            active.size[int(ca)] = active.size.get(int(ca), 0) + int(n)
            if not has_bought:
                active.never_bought[int(ca)] = active.never_bought.get(int(ca), 0) + int(n)
    j = firsts.join(mm, mm.c.member == firsts.c.member)
    cb, ca = month_of(firsts.c.fb), month_of(firsts.c.fa)
    q2 = (
        select(cb.label("cb"), ca.label("ca"), mm.c.month, mm.c.buys, func.count())
        .select_from(j)
        .group_by(cb, ca, mm.c.month, mm.c.buys)
    )
    for c_b, c_a, m, b, n in conn.execute(q2):
        if int(c_b) >= 0 and int(b):
            k = (int(c_b), int(m))
            buying.active[k] = buying.active.get(k, 0) + int(n)
        if int(c_a) >= 0:
            k = (int(c_a), int(m))
            active.active[k] = active.active.get(k, 0) + int(n)
    return buying, active
