"""Customer lifecycle metrics, pure: churn, retention by cohort, lifetime and predicted value.

The default figures count purchases only (a signup bonus does not make a customer); the
activity-based ones (any earn record: purchases and bonuses) are kept beside them, named so.
Times are Unix seconds; a churn window of N days is N * 86,400 seconds. Definitions and worked
examples: docs/metrics.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .metrics import floor_div, ratio, spread
from .period import DAY, month_label

HORIZON_DAYS = 3 * 365  # the predicted value looks this far ahead


@dataclass(frozen=True)
class CustomerHistory:
    """One customer's purchases before the as-of time T (only customers who bought)."""

    member: str
    orders: int
    spend: int
    first: int  # time of the first purchase
    last: int  # time of the last purchase before T
    last_before_start: int | None  # the last purchase before the period's start
    active_at_window: bool = False  # bought in [T - 2N, T - N): active when the window opened
    window_orders: int = 0  # purchases in the last window [T - N, T)
    window_spend: int = 0
    period_orders: int = 0  # purchases in the period (up to T)
    period_spend: int = 0


def lifetime_value(hist: Sequence[CustomerHistory], *, buckets: int = 8) -> dict[str, object]:
    """Lifetime value to date: each customer's spend from their first purchase to T."""
    return lifetime_value_of([h.spend for h in hist], sum(h.orders for h in hist), buckets=buckets)


def lifetime_value_of(values: Sequence[int], orders: int, *, buckets: int = 8) -> dict[str, object]:
    """`lifetime_value` from each customer's spend and the orders of them all."""
    revenue = sum(values)
    return {
        "customers": len(values),
        "orders": orders,
        "revenue": revenue,
        "average_order_value": floor_div(revenue, orders),
        "orders_per_customer": ratio(orders, len(values)),
        **spread(values, buckets=buckets),
    }


def lapse_churn(
    hist: Sequence[CustomerHistory], *, start: int, as_of: int, days: int
) -> dict[str, object]:
    """Churn as `days` without a purchase, over the period [start, as_of).

    At risk: the customers active at the start (a purchase in the `days` before it) and those
    whose first purchase is in the period at least `days` before as_of (they could lapse).
    Churned: those of them without a purchase in the `days` before as_of.
    """
    cutoff = as_of - days * DAY
    at_start = [
        h
        for h in hist
        if h.last_before_start is not None and h.last_before_start >= start - days * DAY
    ]
    new = [h for h in hist if start <= h.first < cutoff]
    churned = sum(1 for h in (*at_start, *new) if h.last < cutoff)
    return lapse_churn_counts(len(at_start), len(new), churned, days=days)


def lapse_churn_counts(at_start: int, new: int, churned: int, *, days: int) -> dict[str, object]:
    """`lapse_churn` from the counts of customers at the start, new ones, and the churned."""
    at_risk = at_start + new
    note = None
    if at_risk == 0:
        note = (
            f"nobody could lapse: no customer bought in the {days} days before the period or "
            f"at least {days} days before its as-of time"
        )
    return {
        "days": days,
        "customers_at_start": at_start,
        "new_customers": new,
        "at_risk": at_risk,
        "churned": churned,
        "retained": at_risk - churned,
        "churn_rate": ratio(churned, at_risk),
        "note": note,
    }


def lapsed(hist: Sequence[CustomerHistory], *, as_of: int, days: int) -> dict[str, object]:
    """Of the customers whose first purchase is at least `days` before as_of, those with no
    purchase since (the lapsed share of the customer base at as_of)."""
    cutoff = as_of - days * DAY
    base = [h for h in hist if h.first < cutoff]
    return lapsed_counts(len(base), sum(1 for h in base if h.last < cutoff))


def lapsed_counts(customers: int, gone: int) -> dict[str, object]:
    """`lapsed` from the counts."""
    return {"customers": customers, "lapsed": gone, "lapsed_rate": ratio(gone, customers)}


def expected_windows(churn: float, windows: float) -> float:
    """Expected windows a customer active now stays active, within `windows` windows: each
    window they stay with probability 1 - churn (geometric; counts the current window)."""
    if churn == 0:
        return windows
    return (1 - (1 - churn) ** windows) / churn


def predicted_value(
    hist: Sequence[CustomerHistory], *, days: int, horizon_days: int = HORIZON_DAYS
) -> dict[str, object]:
    """Predicted value of a customer active now, over the next `horizon_days`: average order
    value x orders per customer per `days`-day window x expected windows active.

    All three come from the last window [T - N, T) and the customers active when it opened
    (a purchase in [T - 2N, T - N)); churn = the share of them who bought nothing in it.
    """
    active = [h for h in hist if h.active_at_window]
    return predicted_value_of(
        WindowCounts(
            customers=len(active),
            orders=sum(h.window_orders for h in active),
            revenue=sum(h.window_spend for h in active),
            churned=sum(1 for h in active if h.window_orders == 0),
        ),
        days=days,
        horizon_days=horizon_days,
    )


@dataclass(frozen=True)
class WindowCounts:
    """The customers active when the last window opened, their orders and spend in it, and
    how many of them bought nothing in it."""

    customers: int
    orders: int
    revenue: int
    churned: int


def predicted_value_of(
    w: WindowCounts, *, days: int, horizon_days: int = HORIZON_DAYS
) -> dict[str, object]:
    """`predicted_value` from the counts of the last window."""
    customers, orders, revenue = w.customers, w.orders, w.revenue
    churn = ratio(w.churned, customers)
    windows = None if churn is None else expected_windows(churn, horizon_days / days)
    value = None if windows is None else int(revenue * windows // customers)
    return {
        "model": "average order value x orders per customer per window x expected windows",
        "days": days,
        "horizon_days": horizon_days,
        "customers": customers,
        "orders": orders,
        "revenue": revenue,
        "average_order_value": floor_div(revenue, orders),
        "orders_per_customer": ratio(orders, customers),
        "churned": w.churned,
        "churn_rate": churn,
        "expected_windows": windows,
        "expected_lifetime_days": None if windows is None else windows * days,
        "value": value,
        "note": None
        if customers
        else f"no customer bought in the {days} days before the last window",
    }


def period_churn(before: Iterable[str], during: Iterable[str]) -> dict[str, object]:
    """Of the members active in the previous period (active at the start), the share with no
    activity in the period."""
    start, now = set(before), set(during)
    churned = len(start - now)
    return {
        "active_at_start": len(start),
        "churned": churned,
        "retained": len(start & now),
        "new_or_returning": len(now - start),
        "active_in_period": len(now),
        "churn_rate": ratio(churned, len(start)),
    }


def _by_month(months_of: Mapping[str, Collection[int]]) -> dict[int, set[str]]:
    by_month: dict[int, set[str]] = defaultdict(set)
    for member, ms in months_of.items():
        for m in ms:
            by_month[m].add(member)
    return by_month


def monthly_churn(
    months_of: Mapping[str, Collection[int]],
    months: Sequence[int],
    partial: Collection[int] = (),
) -> list[dict[str, object]]:
    """Month on month: of the members active (or buying) in month m-1, those not in month m."""
    by_month = _by_month(months_of)
    return [
        {
            "month": month_label(m),
            "partial": m in partial,
            **period_churn(by_month.get(m - 1, set()), by_month.get(m, set())),
        }
        for m in months
    ]


def cohorts(
    months_of: Mapping[str, Collection[int]],
    first_month: Mapping[str, int],
    months: Sequence[int],
    partial: Collection[int] = (),
    *,
    buyers: Collection[str] | None = None,
) -> list[dict[str, object]]:
    """Retention by monthly cohort (the month of a member's first purchase, or activity).

    For each cohort month in `months`: its size and, for k = 0, 1, ... up to the last month,
    the members of the cohort in `months_of` month cohort + k, and their share. With `buyers`,
    also how many of the cohort never bought.
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
        active = [
            sum(1 for m in cohort if c + k in months_of.get(m, ())) for k in range(last - c + 1)
        ]
        row: dict[str, object] = {
            "cohort": month_label(c),
            "size": len(cohort),
            "active": active,
            "retention": [ratio(n, len(cohort)) for n in active],
            "partial": [c + k in partial for k in range(last - c + 1)],
        }
        if buyers is not None:
            row["never_bought"] = sum(1 for m in cohort if m not in buyers)
        rows.append(row)
    return rows


def churn_counts(n_before: int, n_during: int, both: int) -> dict[str, object]:
    """`period_churn` from the sizes of the two sets and of their intersection."""
    churned = n_before - both
    return {
        "active_at_start": n_before,
        "churned": churned,
        "retained": both,
        "new_or_returning": n_during - both,
        "active_in_period": n_during,
        "churn_rate": ratio(churned, n_before),
    }


def monthly_churn_counts(
    members: Mapping[int, int],
    both: Mapping[int, int],
    months: Sequence[int],
    partial: Collection[int] = (),
) -> list[dict[str, object]]:
    """`monthly_churn` from the members per month and those in both month m - 1 and m."""
    return [
        {
            "month": month_label(m),
            "partial": m in partial,
            **churn_counts(members.get(m - 1, 0), members.get(m, 0), both.get(m, 0)),
        }
        for m in months
    ]


def cohorts_counts(
    size: Mapping[int, int],
    active: Mapping[tuple[int, int], int],
    months: Sequence[int],
    partial: Collection[int] = (),
    *,
    never_bought: Mapping[int, int] | None = None,
) -> list[dict[str, object]]:
    """`cohorts` from the cohorts' sizes and their members per (cohort, month)."""
    if not months:
        return []
    last = months[-1]
    rows = []
    for c in months:
        n = size.get(c, 0)
        counts = [active.get((c, c + k), 0) for k in range(last - c + 1)]
        row: dict[str, object] = {
            "cohort": month_label(c),
            "size": n,
            "active": counts,
            "retention": [ratio(x, n) for x in counts],
            "partial": [c + k in partial for k in range(last - c + 1)],
        }
        if never_bought is not None:
            row["never_bought"] = never_bought.get(c, 0)
        rows.append(row)
    return rows
