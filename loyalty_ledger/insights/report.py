"""Each metric for one brand and period: a query (queries) fed to a pure function (metrics)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.programme.earn import get_rule

from . import metrics, queries
from .period import Period, make_period

METRICS = ("clv", "churn", "retention", "basket", "frequency", "top_customers", "nps", "points")


def _head(brand_id: str, period: Period, currency: str | None = None) -> dict[str, Any]:
    head: dict[str, Any] = {"brand_id": brand_id, "period": period.to_json()}
    if currency is not None:
        head["currency"] = currency
    return head


def clv(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    cur = get_rule(engine=engine, brand_id=program.brand_id).currency
    with engine.connect() as conn:
        stats = queries.customer_stats(conn, brand_id=program.brand_id, currency=cur, period=period)
    return _head(program.brand_id, period, cur) | metrics.clv(stats)


def frequency(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    cur = get_rule(engine=engine, brand_id=program.brand_id).currency
    with engine.connect() as conn:
        stats = queries.customer_stats(conn, brand_id=program.brand_id, currency=cur, period=period)
    return _head(program.brand_id, period, cur) | metrics.frequency(stats)


def top_customers(
    *, engine: Engine, program: Program, period: Period, limit: int = 10
) -> dict[str, Any]:
    cur = get_rule(engine=engine, brand_id=program.brand_id).currency
    with engine.connect() as conn:
        stats = queries.customer_stats(conn, brand_id=program.brand_id, currency=cur, period=period)
    return _head(program.brand_id, period, cur) | metrics.top_customers(stats, limit=limit)


def basket(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    cur = get_rule(engine=engine, brand_id=program.brand_id).currency
    with engine.connect() as conn:
        months = queries.month_stats(conn, brand_id=program.brand_id, currency=cur, period=period)
    return _head(program.brand_id, period, cur) | metrics.basket(months)


def churn(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    bid = program.brand_id
    with engine.connect() as conn:
        before, during = queries.active_before_and_during(conn, brand_id=bid, period=period)
        active = queries.activity_months(conn, brand_id=bid, period=period)
    return (
        _head(bid, period)
        | {"previous_period": period.previous().to_json()}
        | metrics.churn(before, during)
        | {"monthly": metrics.monthly_churn(active, period.months())}
    )


def retention(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    bid = program.brand_id
    with engine.connect() as conn:
        active = queries.activity_months(conn, brand_id=bid, period=period)
        first = queries.first_months(conn, brand_id=bid, period=period)
    return _head(bid, period) | {"cohorts": metrics.cohorts(active, first, period.months())}


def nps(*, engine: Engine, program: Program, period: Period) -> dict[str, Any]:
    with engine.connect() as conn:
        scores = queries.survey_scores(conn, brand_id=program.brand_id, period=period)
    return _head(program.brand_id, period) | metrics.nps(scores, period.months())


def points(
    *, engine: Engine, program: Program, period: Period | None = None, now: int | None = None
) -> dict[str, Any]:
    """The points economy: totals and books all time, as of the mirror (expiry as of `now`);
    `flows` per month of the period (default: the last 12 months)."""
    now = int(time.time()) if now is None else now
    period = period or make_period(None, None, now=now)
    token = program.points
    with engine.connect() as conn:
        totals, counts = queries.ledger_totals(conn, token=token)
        senders, receivers = queries.gift_parties(conn, token=token)
        owed = queries.liability(conn, token=token, now=now)
        expired = queries.expired_total(conn, token=token, now=now)
        tiers = queries.tier_distribution(conn, pass_address=program.pass_, now=now)
        flows = queries.month_flows(conn, token=token, period=period, now=now)
    body = metrics.points_economy(
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
        | {"period": period.to_json(), "flows": metrics.point_flows(flows)}
    )


def by_customer(
    *, engine: Engine, program: Program, period: Period, limit: int = 10
) -> dict[str, dict[str, Any]]:
    """clv, frequency and top_customers from one read of the customers' stats (each exactly as
    its own function answers it)."""
    cur = get_rule(engine=engine, brand_id=program.brand_id).currency
    with engine.connect() as conn:
        stats = queries.customer_stats(conn, brand_id=program.brand_id, currency=cur, period=period)
    head = _head(program.brand_id, period, cur)
    return {
        "clv": head | metrics.clv(stats),
        "frequency": head | metrics.frequency(stats),
        "top_customers": head | metrics.top_customers(stats, limit=limit),
    }


def lifecycle(*, engine: Engine, program: Program, period: Period) -> dict[str, dict[str, Any]]:
    """churn and retention from one read of the members' active months (each exactly as its own
    function answers it)."""
    bid = program.brand_id
    with engine.connect() as conn:
        before, during = queries.active_before_and_during(conn, brand_id=bid, period=period)
        active = queries.activity_months(conn, brand_id=bid, period=period)
        first = queries.first_months(conn, brand_id=bid, period=period)
    return {
        "churn": _head(bid, period)
        | {"previous_period": period.previous().to_json()}
        | metrics.churn(before, during)
        | {"monthly": metrics.monthly_churn(active, period.months())},
        "retention": _head(bid, period)
        | {"cohorts": metrics.cohorts(active, first, period.months())},
    }


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
