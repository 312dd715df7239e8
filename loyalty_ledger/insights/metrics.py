"""Pure metric functions over aggregated data (the SQL shell in `queries` feeds them).

Money is in integer minor units; averages of money are floored to whole units. Ratios are
floats (or None when their denominator is zero). Definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .period import month_label


@dataclass(frozen=True)
class CustomerStats:
    """One customer's purchases in a period."""

    member: str
    orders: int
    spend: int
    items: int


@dataclass(frozen=True)
class MonthStats:
    """All purchases of one calendar month."""

    month: int
    orders: int
    revenue: int
    items: int
    customers: int


def ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def floor_div(num: int, den: int) -> int | None:
    return None if den == 0 else num // den


def nearest_rank(sorted_values: Sequence[int], q: float) -> int | None:
    """The q-quantile by nearest rank (an observed value; no interpolation)."""
    if not sorted_values:
        return None
    k = max(1, -(-len(sorted_values) * q // 1))  # ceil(n * q), at least 1
    return sorted_values[int(k) - 1]


def median(sorted_values: Sequence[int]) -> int | None:
    """Floored median of integers."""
    n = len(sorted_values)
    if n == 0:
        return None
    mid = n // 2
    return sorted_values[mid] if n % 2 else (sorted_values[mid - 1] + sorted_values[mid]) // 2


def nice_width(maximum: int, buckets: int) -> int:
    """The smallest 1/2/5 x 10^k width such that `buckets` buckets cover [0, maximum]."""
    need = max(1, -(-(maximum + 1) // buckets))
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= need:
                return step * scale
        scale *= 10


def histogram(values: Sequence[int], buckets: int = 8) -> list[dict[str, int]]:
    """Equal-width buckets [lo, hi) from 0 covering every value (empty: no buckets)."""
    if not values:
        return []
    width = nice_width(max(values), buckets)
    counts = [0] * buckets
    for v in values:
        counts[min(v // width, buckets - 1)] += 1
    last = max(i for i, c in enumerate(counts) if c) + 1
    return [{"lo": i * width, "hi": (i + 1) * width, "count": counts[i]} for i in range(last)]


def clv(stats: Sequence[CustomerStats], *, buckets: int = 8) -> dict[str, object]:
    """Customer lifetime value over the period: orders x average order value = spend."""
    values = sorted(s.spend for s in stats if s.orders > 0)
    customers = len(values)
    orders = sum(s.orders for s in stats)
    revenue = sum(values)
    return {
        "customers": customers,
        "orders": orders,
        "revenue": revenue,
        "average_order_value": floor_div(revenue, orders),
        "purchase_frequency": ratio(orders, customers),
        "clv_mean": floor_div(revenue, customers),
        "clv_median": median(values),
        "clv_p25": nearest_rank(values, 0.25),
        "clv_p75": nearest_rank(values, 0.75),
        "clv_p90": nearest_rank(values, 0.90),
        "clv_max": values[-1] if values else None,
        "distribution": histogram(values, buckets),
    }


def basket(months: Sequence[MonthStats]) -> dict[str, object]:
    """Average order value and items per order, overall and per month."""
    orders = sum(m.orders for m in months)
    revenue = sum(m.revenue for m in months)
    items = sum(m.items for m in months)
    return {
        "orders": orders,
        "revenue": revenue,
        "average_order_value": floor_div(revenue, orders),
        "items_per_order": ratio(items, orders),
        "trend": [
            {
                "month": month_label(m.month),
                "orders": m.orders,
                "revenue": m.revenue,
                "customers": m.customers,
                "average_order_value": floor_div(m.revenue, m.orders),
                "items_per_order": ratio(m.items, m.orders),
            }
            for m in months
        ],
    }


def frequency(stats: Sequence[CustomerStats]) -> dict[str, object]:
    """Orders per customer and the share of customers who bought more than once."""
    buyers = [s for s in stats if s.orders > 0]
    orders = sum(s.orders for s in buyers)
    repeat = sum(1 for s in buyers if s.orders >= 2)
    dist = {"1": 0, "2": 0, "3": 0, "4": 0, "5+": 0}
    for s in buyers:
        dist[str(s.orders) if s.orders < 5 else "5+"] += 1
    return {
        "customers": len(buyers),
        "orders": orders,
        "purchase_frequency": ratio(orders, len(buyers)),
        "repeat_customers": repeat,
        "repeat_purchase_rate": ratio(repeat, len(buyers)),
        "orders_per_customer": [{"orders": k, "customers": v} for k, v in dist.items()],
    }


def top_customers(stats: Sequence[CustomerStats], *, limit: int = 10) -> dict[str, object]:
    """The biggest customers by spend and by order count (ties: by address)."""

    def row(s: CustomerStats) -> dict[str, object]:
        return {"member": s.member, "orders": s.orders, "spend": s.spend, "items": s.items}

    buyers = [s for s in stats if s.orders > 0]
    by_spend = sorted(buyers, key=lambda s: (-s.spend, -s.orders, s.member))[:limit]
    by_orders = sorted(buyers, key=lambda s: (-s.orders, -s.spend, s.member))[:limit]
    return {"by_spend": [row(s) for s in by_spend], "by_orders": [row(s) for s in by_orders]}


def churn(active_before: Iterable[str], active_in: Iterable[str]) -> dict[str, object]:
    """Churn over a period: of the members active in the previous period of the same length
    (active at the start), the share with no activity in the period."""
    start = set(active_before)
    during = set(active_in)
    churned = len(start - during)
    return {
        "active_at_start": len(start),
        "churned": churned,
        "retained": len(start & during),
        "new_or_returning": len(during - start),
        "active_in_period": len(during),
        "churn_rate": ratio(churned, len(start)),
    }


def monthly_churn(
    activity: Mapping[str, set[int]], months: Sequence[int]
) -> list[dict[str, object]]:
    """Month-over-month churn: members active in month m-1 with no activity in month m."""
    by_month: dict[int, set[str]] = defaultdict(set)
    for member, ms in activity.items():
        for m in ms:
            by_month[m].add(member)
    out = []
    for m in months:
        c = churn(by_month.get(m - 1, set()), by_month.get(m, set()))
        out.append({"month": month_label(m), **c})
    return out


def cohorts(
    activity: Mapping[str, set[int]],
    first_month: Mapping[str, int],
    months: Sequence[int],
) -> list[dict[str, object]]:
    """Retention by monthly cohort (the month of a member's first activity ever).

    For each cohort month in `months`: its size and, for k = 0, 1, ... up to the last month
    of `months`, the share of the cohort active in month cohort + k.
    """
    if not months:
        return []
    last = months[-1]
    members: dict[int, list[str]] = defaultdict(list)
    for member, first in first_month.items():
        if months[0] <= first <= last:
            members[first].append(member)
    rows = []
    for c in months:
        cohort = members.get(c, [])
        size = len(cohort)
        retention: list[float | None] = []
        active: list[int] = []
        for k in range(last - c + 1):
            n = sum(1 for m in cohort if c + k in activity.get(m, ()))
            active.append(n)
            retention.append(ratio(n, size))
        rows.append(
            {"cohort": month_label(c), "size": size, "active": active, "retention": retention}
        )
    return rows


def nps(scores: Iterable[tuple[int, int]], months: Sequence[int]) -> dict[str, object]:
    """Net Promoter Score from (month, score 0-10) answers, overall and per month."""

    def summary(values: list[int]) -> dict[str, object]:
        n = len(values)
        p = sum(1 for s in values if s >= 9)
        d = sum(1 for s in values if s <= 6)
        return {
            "answers": n,
            "promoters": p,
            "passives": n - p - d,
            "detractors": d,
            "nps": None if n == 0 else 100 * (p - d) / n,
        }

    per: dict[int, list[int]] = defaultdict(list)
    every: list[int] = []
    for month, score in scores:
        per[month].append(score)
        every.append(score)
    return {
        **summary(every),
        "trend": [{"month": month_label(m), **summary(per.get(m, []))} for m in months],
    }


def points_economy(
    *,
    totals: Mapping[str, int],
    counts: Mapping[str, int],
    liability: int,
    gift_senders: int,
    gift_receivers: int,
    tiers: Sequence[dict[str, object]],
    expired: int = 0,
) -> dict[str, object]:
    """Issued, redeemed, forfeited, expired, swapped, outstanding, gifts and tiers of a
    program's points (all time); `liability` is the live points outstanding."""
    issued = totals.get("issue", 0)
    redeemed = totals.get("redeem", 0)
    swapped_in, swapped_out = totals.get("swap_in", 0), totals.get("swap_out", 0)
    return {
        "issued": issued,
        "redeemed": redeemed,
        "forfeited": totals.get("forfeit", 0),
        "expired": expired,
        "swapped_in": swapped_in,
        "swapped_out": swapped_out,
        "outstanding_liability": liability,
        "redemption_rate": ratio(redeemed, issued),
        "breakage_rate": breakage_rate(expired, issued, swapped_in),
        "swaps": {"in": counts.get("swap_in", 0), "out": counts.get("swap_out", 0)},
        "redemptions": counts.get("redeem", 0),
        "gifts": {
            "count": counts.get("gift", 0),
            "points": totals.get("gift", 0),
            "senders": gift_senders,
            "receivers": gift_receivers,
        },
        "transfers": {"count": counts.get("transfer", 0), "points": totals.get("transfer", 0)},
        "tiers": list(tiers),
        "books": books(
            issued=issued,
            swapped_in=swapped_in,
            redeemed=redeemed,
            swapped_out=swapped_out,
            forfeited=totals.get("forfeit", 0),
            expired=expired,
            outstanding=liability,
        ),
    }


@dataclass(frozen=True)
class MonthFlows:
    """Points that moved in one calendar month: ledger entries by block time, lots by expiry."""

    month: int
    issued: int = 0
    swapped_in: int = 0
    swapped_out: int = 0
    redeemed: int = 0
    forfeited: int = 0
    expired: int = 0


def breakage_rate(expired: int, issued: int, swapped_in: int) -> float | None:
    """Expired ÷ (issued + swapped in) over the same period."""
    return ratio(expired, issued + swapped_in)


def point_flows(months: Sequence[MonthFlows]) -> dict[str, object]:
    """Issued, swapped in/out, redeemed, forfeited and expired points over a period and per
    month, with the breakage rate of each."""

    def row(f: MonthFlows) -> dict[str, object]:
        return {
            "issued": f.issued,
            "swapped_in": f.swapped_in,
            "swapped_out": f.swapped_out,
            "redeemed": f.redeemed,
            "forfeited": f.forfeited,
            "expired": f.expired,
            "breakage_rate": breakage_rate(f.expired, f.issued, f.swapped_in),
        }

    total = MonthFlows(
        month=0,
        **{
            k: sum(getattr(f, k) for f in months)
            for k in ("issued", "swapped_in", "swapped_out", "redeemed", "forfeited", "expired")
        },
    )
    return {**row(total), "trend": [{"month": month_label(f.month), **row(f)} for f in months]}


def books(
    *,
    issued: int,
    swapped_in: int,
    redeemed: int,
    swapped_out: int,
    forfeited: int,
    expired: int,
    outstanding: int,
) -> dict[str, object]:
    """The points identity over a program's whole history:
    issued + swapped in = redeemed + swapped out + forfeited + expired + outstanding."""
    credits = issued + swapped_in
    debits = redeemed + swapped_out + forfeited + expired + outstanding
    return {
        "issued": issued,
        "swapped_in": swapped_in,
        "redeemed": redeemed,
        "swapped_out": swapped_out,
        "forfeited": forfeited,
        "expired": expired,
        "outstanding": outstanding,
        "credits": credits,
        "debits": debits,
        "difference": credits - debits,
        "balanced": credits == debits,
    }
