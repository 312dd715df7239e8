"""Each metric for one brand and period: a query (`queries`, `ledger_queries`) fed to a pure
function (`metrics`, `lifecycle`, `economy`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.programme.earn import get_rule

from . import economy, ledger_queries, lifecycle, metrics, queries
from . import lifecycle_queries as lq
from . import month_counts as mc_q
from .lifecycle_sums import ClvSums, clv_reads, lapse_sums
from .period import Period, iso, make_period
from .settings import churn_days
from .together import Read, together

METRICS = ("clv", "churn", "retention", "basket", "frequency", "top_customers", "nps", "points")


def period_for(
    *, engine: Engine, program: Program, start: str | None, end: str | None, now: int | None = None
) -> Period:
    """The period asked for; the default (the last three full months and this month to date)
    starts no earlier than the month of the programme's first earn record."""
    first = None
    if not start:
        full = make_period(None, end, now=now)
        with engine.connect() as conn:
            first = queries.first_activity(conn, brand_id=program.brand_id, before=full.start)
    return make_period(start, end, now=now, first_activity=first)


def _head(brand_id: str, period: Period, currency: str | None = None) -> dict[str, Any]:
    head: dict[str, Any] = {"brand_id": brand_id, "period": period.to_json()}
    if currency is not None:
        head["currency"] = currency
    return head


def _partial(period: Period) -> set[int]:
    return {m for m in period.months() if period.month_partial(m)}


def _currency(engine: Engine, program: Program) -> str:
    return get_rule(engine=engine, brand_id=program.brand_id).currency


def clv(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    """Lifetime value to date, predicted value, and spend in the period."""
    cur, bid = _currency(engine, program), program.brand_id
    with engine.connect() as conn:
        days = churn_days(conn, brand_id=bid)
    reads = clv_reads(brand_id=bid, currency=cur, period=period, days=days)
    sums = ClvSums.of(together(engine, *reads))
    return _head(bid, period, cur) | {
        "lifetime": {"as_of": iso(period.as_of)}
        | lifecycle.lifetime_value_of(sums.lifetime, sums.lifetime_orders),
        "predicted": lifecycle.predicted_value_of(sums.window, days=days),
        "in_period": metrics.period_spend_of(sums.in_period, sums.period_orders),
    }


def frequency(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    cur = _currency(engine, program)
    with engine.connect() as conn:
        stats = queries.customer_stats(conn, brand_id=program.brand_id, currency=cur, period=period)
    return _head(program.brand_id, period, cur) | metrics.frequency(stats)


def top_customers(
    *, engine: Engine, program: Program, period: Period, limit: int = 10
) -> dict[str, Any]:
    cur = _currency(engine, program)
    with engine.connect() as conn:
        stats = queries.customer_stats(conn, brand_id=program.brand_id, currency=cur, period=period)
    return _head(program.brand_id, period, cur) | metrics.top_customers(stats, limit=limit)


def basket(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    """Basket per month, and the totals of the calendar-aligned previous period."""
    cur, bid = _currency(engine, program), program.brand_id
    prev = period.previous()
    with engine.connect() as conn:
        months = queries.month_stats(conn, brand_id=bid, currency=cur, period=period)
        before = queries.period_totals(conn, brand_id=bid, currency=cur, period=prev)
    previous: dict[str, Any] = {"period": prev.to_json(), **before}
    previous["average_order_value"] = metrics.floor_div(before["revenue"], before["orders"])
    return (
        _head(bid, period, cur) | metrics.basket(months, _partial(period)) | {"previous": previous}
    )


def churn(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    """Churn as N days without a purchase (N: the brand's setting), the lapsed share, month
    on month on purchases, and the activity-based churn against the previous period."""
    cur, bid = _currency(engine, program), program.brand_id
    prev = period.previous()
    with engine.connect() as conn:
        days = churn_days(conn, brand_id=bid)
    reads: list[Read] = [
        lambda c: lapse_sums(c, brand_id=bid, currency=cur, period=period, days=days)
    ]
    if engine.dialect.name == "postgresql":  # three reads at once, the server works on each
        reads.append(lambda c: mc_q.month_counts(c, brand_id=bid, currency=cur, period=period))
        reads.append(lambda c: mc_q.period_activity(c, brand_id=bid, period=period, previous=prev))
        lapse, mc, (before, during, both) = together(engine, *reads)
    else:  # one after the other: the month and period counts in one pass
        reads.append(
            lambda c: mc_q.churn_counts(c, brand_id=bid, currency=cur, period=period, previous=prev)
        )
        lapse, (mc, (before, during, both)) = together(engine, *reads)
    months, partial = period.months(), _partial(period)
    activity = (
        {"previous_period": prev.to_json()}
        | lifecycle.churn_counts(before, during, both)
        | {"monthly": lifecycle.monthly_churn_counts(mc.active, mc.active_both, months, partial)}
    )
    return (
        _head(bid, period)
        | {"definition": f"no purchase for {days} days"}
        | lifecycle.lapse_churn_counts(lapse.at_start, lapse.new, lapse.churned, days=days)
        | {"lapsed": lifecycle.lapsed_counts(lapse.base, lapse.lapsed)}
        | {"monthly": lifecycle.monthly_churn_counts(mc.buying, mc.buying_both, months, partial)}
        | {"activity": activity}
    )


def retention(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    """Cohorts by first purchase (retained: bought that month), and by first activity."""
    cur, bid = _currency(engine, program), program.brand_id
    with engine.connect() as conn:
        buying, active = lq.cohort_counts(conn, brand_id=bid, currency=cur, period=period)
    months, partial = period.months(), _partial(period)
    return _head(bid, period) | {
        "cohorts": lifecycle.cohorts_counts(buying.size, buying.active, months, partial),
        "activity_cohorts": lifecycle.cohorts_counts(
            active.size, active.active, months, partial, never_bought=active.never_bought
        ),
    }


def nps(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    with engine.connect() as conn:
        scores = queries.survey_scores(conn, brand_id=program.brand_id, period=period)
    return _head(program.brand_id, period) | metrics.nps(scores, period.months(), _partial(period))


def points(
    *, engine: Engine, program: Program, period: Period | None = None, now: int | None = None
) -> dict[str, Any]:
    """The points economy: totals and books all time, as of the mirror (expiry as of `now`);
    `flows` per month of the period (default: the default period)."""
    now = int(time.time()) if now is None else now
    period = period or make_period(None, None, now=now)
    token, q = program.points, ledger_queries
    with engine.connect() as conn:
        totals, counts = q.ledger_totals(conn, token=token)
        senders, receivers = q.gift_parties(conn, token=token)
        owed = q.liability(conn, token=token, now=now)
        expired = q.expired_total(conn, token=token, now=now)
        tiers = q.tier_distribution(conn, pass_address=program.pass_, now=now)
        flows = q.month_flows(conn, token=token, brand_id=program.brand_id, period=period, now=now)
    body = economy.points_economy(
        totals=totals,
        counts=counts,
        liability=owed,
        gift_senders=senders,
        gift_receivers=receivers,
        tiers=tiers,
        expired=expired,
    )
    return (
        {"brand_id": program.brand_id, "scope": "all time, as of the mirror"}
        | body
        | {"period": period.to_json(), "flows": economy.point_flows(flows, _partial(period))}
    )


def full_report(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    """Every metric (the CLI report)."""
    fns: dict[str, Callable[..., dict[str, Any]]] = {
        "clv": clv,
        "churn": churn,
        "retention": retention,
        "basket": basket,
        "frequency": frequency,
        "top_customers": top_customers,
        "nps": nps,
        "points": points,
    }
    return {
        "brand_id": program.brand_id,
        "period": period.to_json(),
        **{k: fn(engine=engine, program=program, period=period) for k, fn in fns.items()},
    }
