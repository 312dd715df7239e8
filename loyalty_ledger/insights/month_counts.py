"""Month-on-month and period-on-period activity of a brand's customers: the counts churn
reads, from the rollups and the records of cut months (`earn_facts.facts`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
)

from .earn_facts import bought, facts
from .period import Period, month_start

MASK_BITS = 62  # months of a member one 64-bit integer holds as bits (`month_counts`)
BEFORE = 62  # the bit of a record in the previous period (`churn_counts`)


@dataclass(frozen=True)
class MonthCounts:
    """Per month m: members active (buying) in m, and in both m - 1 and m."""

    active: dict[int, int]
    active_both: dict[int, int]
    buying: dict[int, int]
    buying_both: dict[int, int]


def month_counts(conn: Connection, *, brand_id: str, currency: str, period: Period) -> MonthCounts:
    """Members active (any record) and buying per month of the period and the month before,
    and those who were in month m - 1 too: what month-on-month churn needs. One pass: each
    member's months as the bits of two integers (active, buying; the SUM of DISTINCT powers of
    two is their OR), the members counted per pair of them, the months read from the bits; a
    span too long for 64 bits is read by a member's consecutive months (`lagged_counts`)."""
    if len(period.months()) >= MASK_BITS:
        return lagged_counts(conn, brand_id=brand_id, currency=currency, period=period)
    return _by_masks(conn, brand_id, currency, period, None)[0]


def churn_counts(
    conn: Connection, *, brand_id: str, currency: str, period: Period, previous: Period
) -> tuple[MonthCounts, tuple[int, int, int]]:
    """`month_counts` and `period_activity`. In one pass when the period starts on the first of
    a month (its months' bits are then the period): a record of the previous period sets a bit
    of its own (`BEFORE`). Otherwise the two reads."""
    months = period.months()
    if len(months) >= MASK_BITS or period.start != month_start(months[0]):
        mc = month_counts(conn, brand_id=brand_id, currency=currency, period=period)
        return mc, period_activity(conn, brand_id=brand_id, period=period, previous=previous)
    return _by_masks(conn, brand_id, currency, period, previous)


def _by_masks(
    conn: Connection, brand_id: str, currency: str, period: Period, previous: Period | None
) -> tuple[MonthCounts, tuple[int, int, int]]:
    """`month_counts` by the members' month bits, and (`previous`: the period starts on the
    first of a month) the members of the previous period, the period and both."""
    m0 = period.months()[0] - 1
    f = facts(conn, brand_id=brand_id, lo=month_start(m0), hi=period.end)
    bit = cast(literal(1), BigInteger).op("<<")(cast(f.c.month - m0, Integer))
    parts = [select(f.c.member, bit.label("a"), case((bought(f, currency), bit), else_=0))]
    if previous is not None:
        p = facts(conn, brand_id=brand_id, lo=previous.start, hi=min(previous.end, period.end))
        parts.append(select(p.c.member, literal(1 << BEFORE, BigInteger), literal(0, BigInteger)))
    rows = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("rows")
    per = select(
        cast(func.sum(rows.c[1].distinct()), BigInteger).label("a"),
        cast(func.sum(rows.c[2].distinct()), BigInteger).label("b"),
    ).group_by(rows.c[0])
    masks = per.subquery("per")
    out, seen = MonthCounts({}, {}, {}, {}), [0, 0, 0]
    q = select(masks.c.a, masks.c.b, func.count()).group_by(masks.c.a, masks.c.b)
    for active, buying, n in conn.execute(q):
        before, active = int(active) >> BEFORE, int(active) & ((1 << BEFORE) - 1)
        during = active >> 1 != 0  # a month of the period (bit 0: the month before it)
        seen[0] += n * before
        seen[1] += n * during
        seen[2] += n * (before and during)
        _count_months(out.active, out.active_both, active, int(n), m0)
        _count_months(out.buying, out.buying_both, int(buying), int(n), m0)
    for m in out.active:  # as the rows grouped by month: each active month, buyers or not
        out.buying.setdefault(m, 0)
        out.buying_both.setdefault(m, 0)
    return out, (seen[0], seen[1], seen[2])


def _count_months(
    members: dict[int, int], both: dict[int, int], mask: int, n: int, m0: int
) -> None:
    """Add `n` members with the months of `mask` (bit i: month m0 + i) to the counts."""
    i = 0
    while mask >> i:
        if mask >> i & 1:
            m = m0 + i
            members[m] = members.get(m, 0) + n
            both[m] = both.get(m, 0) + (n if i and mask >> (i - 1) & 1 else 0)
        i += 1


def lagged_counts(conn: Connection, *, brand_id: str, currency: str, period: Period) -> MonthCounts:
    """`month_counts` by each member's months in order, each beside the one before."""
    months = period.months()
    f = facts(conn, brand_id=brand_id, lo=month_start(months[0] - 1), hi=period.end)
    mm = (
        select(
            f.c.member,
            f.c.month,
            func.max(case((bought(f, currency), 1), else_=0)).label("buys"),
        )
        .group_by(f.c.member, f.c.month)
        .subquery("mm")
    )
    lagged = select(
        mm.c.month,
        mm.c.buys,
        func.lag(mm.c.month).over(partition_by=mm.c.member, order_by=mm.c.month).label("pm"),
        func.lag(mm.c.buys).over(partition_by=mm.c.member, order_by=mm.c.month).label("pb"),
    ).subquery("lagged")
    after = lagged.c.pm == lagged.c.month - 1
    q = select(
        lagged.c.month,
        func.count(),
        func.sum(case((after, 1), else_=0)),
        func.sum(lagged.c.buys),
        func.sum(case((and_(after, lagged.c.pb == 1, lagged.c.buys == 1), 1), else_=0)),
    ).group_by(lagged.c.month)
    out = MonthCounts({}, {}, {}, {})
    for m, n, both, buys, buys_both in conn.execute(q):
        out.active[int(m)], out.active_both[int(m)] = int(n), int(both or 0)
        out.buying[int(m)], out.buying_both[int(m)] = int(buys or 0), int(buys_both or 0)
    return out


def period_activity(
    conn: Connection, *, brand_id: str, period: Period, previous: Period
) -> tuple[int, int, int]:
    """Members with any record in the previous period (cut at the period's end), in the
    period, and in both."""
    before = facts(conn, brand_id=brand_id, lo=previous.start, hi=min(previous.end, period.end))
    during = facts(conn, brand_id=brand_id, lo=period.start, hi=period.end)
    tagged = union_all(
        select(before.c.member, literal(1).label("b"), literal(0).label("d")),
        select(during.c.member, literal(0), literal(1)),
    ).subquery("tagged")
    per = (
        select(func.max(tagged.c.b).label("b"), func.max(tagged.c.d).label("d"))
        .group_by(tagged.c.member)
        .subquery("per")
    )
    b, d, both = conn.execute(
        select(func.sum(per.c.b), func.sum(per.c.d), func.sum(per.c.b * per.c.d))
    ).one()
    return int(b or 0), int(d or 0), int(both or 0)
