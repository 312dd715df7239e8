"""Pure metric functions over aggregated purchases and answers (the SQL shell in `queries`
feeds them): spend in a period, basket, frequency, top customers, NPS, and the statistics they
share. Churn, retention and lifetime value are in `lifecycle`, the points in `economy`.

Money is in integer minor units; averages of money are floored to whole units. Ratios are
floats (or None when their denominator is zero), always beside their numerator and
denominator. Definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
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


def spread(values: Sequence[int], *, prefix: str = "", buckets: int = 8) -> dict[str, object]:
    """Mean (floored), median, quartiles, p90, max and histogram of money values."""
    v = sorted(values)
    return {
        f"{prefix}mean": floor_div(sum(v), len(v)),
        f"{prefix}median": median(v),
        f"{prefix}p25": nearest_rank(v, 0.25),
        f"{prefix}p75": nearest_rank(v, 0.75),
        f"{prefix}p90": nearest_rank(v, 0.90),
        f"{prefix}max": v[-1] if v else None,
        "distribution": histogram(v, buckets),
    }


def period_spend(stats: Sequence[CustomerStats], *, buckets: int = 8) -> dict[str, object]:
    """Spend per customer who bought in the period (orders x average order value): the value
    a customer brought inside the window, not a lifetime value."""
    values = [s.spend for s in stats if s.orders > 0]
    return period_spend_of(values, sum(s.orders for s in stats), buckets=buckets)


def period_spend_of(values: Sequence[int], orders: int, *, buckets: int = 8) -> dict[str, object]:
    """`period_spend` from the spend of each customer who bought and their orders."""
    revenue = sum(values)
    return {
        "customers": len(values),
        "orders": orders,
        "revenue": revenue,
        "average_order_value": floor_div(revenue, orders),
        "purchase_frequency": ratio(orders, len(values)),
        **spread(values, prefix="clv_", buckets=buckets),
    }


def basket(months: Sequence[MonthStats], partial: Collection[int] = ()) -> dict[str, object]:
    """Average order value and items per order, overall and per month."""
    orders = sum(m.orders for m in months)
    revenue = sum(m.revenue for m in months)
    items = sum(m.items for m in months)
    return {
        "orders": orders,
        "revenue": revenue,
        "items": items,
        "average_order_value": floor_div(revenue, orders),
        "items_per_order": ratio(items, orders),
        "trend": [
            {
                "month": month_label(m.month),
                "partial": m.month in partial,
                "orders": m.orders,
                "revenue": m.revenue,
                "items": m.items,
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


def nps(
    scores: Iterable[tuple[int, int]], months: Sequence[int], partial: Collection[int] = ()
) -> dict[str, object]:
    """Net Promoter Score from (month, score 0-10) answers, overall and per month; `answers`
    is its sample size."""

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
        "trend": [
            {"month": month_label(m), "partial": m in partial, **summary(per.get(m, []))}
            for m in months
        ],
    }
