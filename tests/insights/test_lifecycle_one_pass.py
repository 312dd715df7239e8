"""clv, churn and retention read in one pass each (`lifecycle_queries`), and clv and lapse
churn counted in SQL (`lifecycle_sums`), answer what the window-by-window reads
(`queries.customer_history`, `queries.member_months`) answer, after random writes to the earn
records, for periods and as-of times cut anywhere (mid-month, at a record's time, running and
ended); SQLite and PostgreSQL."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Engine, select

from loyalty_ledger.insights import lifecycle, lifecycle_queries, metrics, month_counts, queries
from loyalty_ledger.insights.lifecycle_sums import clv_sums, lapse_sums
from loyalty_ledger.insights.period import DAY, Period, month_start

from .test_earn_facts import M0, T_EARN, _write, engine  # noqa: F401 (the fixture)

DAYS = 30


def _clv(conn: Any, brand: str, period: Period, one_pass: bool) -> dict[str, Any]:
    kw = {"brand_id": brand, "currency": "VND", "period": period, "days": DAYS}
    if one_pass:
        hist = lifecycle_queries.clv_history(conn, **kw)
    else:
        hist = queries.customer_history(conn, **kw)
    hist = sorted(hist, key=lambda h: h.member)
    return {
        "life": lifecycle.lifetime_value(hist),
        "predicted": lifecycle.predicted_value(hist, days=DAYS),
        "rows": hist,
    }


def _churn(conn: Any, brand: str, period: Period, one_pass: bool) -> dict[str, Any]:
    kw = {"brand_id": brand, "currency": "VND", "period": period, "days": DAYS}
    months, prev = period.months(), period.previous()
    if one_pass:
        hist = lifecycle_queries.churn_history(conn, **kw)
        mc = month_counts.month_counts(conn, brand_id=brand, currency="VND", period=period)
        lagged = month_counts.lagged_counts(  # a span too long for the bits' pass
            conn, brand_id=brand, currency="VND", period=period
        )
        assert mc == lagged
        counts = month_counts.period_activity(conn, brand_id=brand, period=period, previous=prev)
        aligned = month_counts.churn_counts(  # one pass when the period starts on a 1st
            conn, brand_id=brand, currency="VND", period=period, previous=prev
        )
        assert aligned == (mc, counts)
        monthly = lifecycle.monthly_churn_counts(mc.buying, mc.buying_both, months)
        active = lifecycle.monthly_churn_counts(mc.active, mc.active_both, months)
        activity = lifecycle.churn_counts(*counts)
    else:
        hist = queries.customer_history(conn, **kw, values=False)
        mm = queries.member_months(
            conn, brand_id=brand, currency="VND", period=period, previous=prev
        )
        monthly = lifecycle.monthly_churn(mm.buying, months)
        active = lifecycle.monthly_churn(mm.active, months)
        activity = lifecycle.period_churn(mm.before, mm.during)
    return {
        "lapse": lifecycle.lapse_churn(hist, start=period.start, as_of=period.as_of, days=DAYS),
        "lapsed": lifecycle.lapsed(hist, as_of=period.as_of, days=DAYS),
        "monthly": monthly,
        "active": active,
        "activity": activity,
        "rows": sorted(hist, key=lambda h: h.member),
    }


def _retention(conn: Any, brand: str, period: Period, one_pass: bool) -> list[Any]:
    months = period.months()
    if one_pass:
        b, a = lifecycle_queries.cohort_counts(conn, brand_id=brand, currency="VND", period=period)
        return [
            lifecycle.cohorts_counts(b.size, b.active, months),
            lifecycle.cohorts_counts(a.size, a.active, months, never_bought=a.never_bought),
        ]
    mm = queries.member_months(
        conn, brand_id=brand, currency="VND", period=period, all_history=True
    )
    return [
        lifecycle.cohorts(mm.buying, mm.first(mm.buying), months),
        lifecycle.cohorts(mm.active, mm.first(mm.active), months, buyers=set(mm.buying)),
    ]


def _periods(eng: Engine, rng: random.Random) -> list[Period]:
    with eng.connect() as conn:
        times = sorted(t for (t,) in conn.execute(select(T_EARN.c.ordered_at)))
    periods = [
        Period(month_start(M0 + 1), month_start(M0 + 4), month_start(M0 + 3) + 9 * DAY + 5),
        Period(month_start(M0 + 1), month_start(M0 + 3), month_start(M0 + 6)),
        Period(month_start(M0) + 4 * DAY, month_start(M0 + 2) + 11 * DAY, month_start(M0 + 5)),
        Period(month_start(M0 + 2), month_start(M0 + 5), times[-1] + 1),
        Period(month_start(M0 + 3), month_start(M0 + 4), month_start(M0 + 2)),  # not begun
    ]
    return periods + [
        Period(month_start(M0 + 1) + 7, month_start(M0 + 4), t)
        for t in rng.sample(times[len(times) // 3 :], 3)
    ]


def test_one_pass_equals_the_window_reads(engine: Engine) -> None:  # noqa: F811
    rng = random.Random(5)
    _write(engine, rng)
    periods = _periods(engine, rng)
    seen = 0
    for brand in ("acme", "beta"):
        for period in periods:
            with engine.connect() as conn:
                for fn in (_clv, _churn, _retention):
                    fast, slow = fn(conn, brand, period, True), fn(conn, brand, period, False)
                    assert fast == slow, (fn.__name__, brand, period)
                seen += _clv(conn, brand, period, True)["predicted"]["customers"]
    assert seen  # the windows held customers: the comparison saw data


def _sums(conn: Any, brand: str, period: Period) -> dict[str, Any]:
    """clv and lapse churn as `report` computes them from the SQL sums."""
    kw: dict[str, Any] = {"brand_id": brand, "currency": "VND", "period": period, "days": DAYS}
    c, lapse = clv_sums(conn, **kw), lapse_sums(conn, **kw)
    return {
        "life": lifecycle.lifetime_value_of(c.lifetime, c.lifetime_orders),
        "predicted": lifecycle.predicted_value_of(c.window, days=DAYS),
        "in_period": metrics.period_spend_of(c.in_period, c.period_orders),
        "lapse": lifecycle.lapse_churn_counts(lapse.at_start, lapse.new, lapse.churned, days=DAYS),
        "lapsed": lifecycle.lapsed_counts(lapse.base, lapse.lapsed),
    }


def _defined(conn: Any, brand: str, period: Period) -> dict[str, Any]:
    """The same from the window-by-window reads of every customer (the definitions)."""
    kw: dict[str, Any] = {"brand_id": brand, "currency": "VND", "period": period, "days": DAYS}
    hist = queries.customer_history(conn, **kw)
    times = queries.customer_history(conn, **kw, values=False)
    stats = [
        metrics.CustomerStats(h.member, h.period_orders, h.period_spend, 0)
        for h in hist
        if h.period_orders
    ]
    return {
        "life": lifecycle.lifetime_value(hist),
        "predicted": lifecycle.predicted_value(hist, days=DAYS),
        "in_period": metrics.period_spend(stats),
        "lapse": lifecycle.lapse_churn(times, start=period.start, as_of=period.as_of, days=DAYS),
        "lapsed": lifecycle.lapsed(times, as_of=period.as_of, days=DAYS),
    }


def test_sql_sums_equal_the_definitions(engine: Engine) -> None:  # noqa: F811
    rng = random.Random(23)
    _write(engine, rng)
    seen: dict[str, int] = {"churned": 0, "at_start": 0, "new": 0, "in_period": 0, "lapsed": 0}
    for brand in ("acme", "beta"):
        for period in _periods(engine, rng):
            with engine.connect() as conn:
                fast, slow = _sums(conn, brand, period), _defined(conn, brand, period)
            assert fast == slow, (brand, period)
            seen["churned"] += fast["lapse"]["churned"]
            seen["at_start"] += fast["lapse"]["customers_at_start"]
            seen["new"] += fast["lapse"]["new_customers"]
            seen["in_period"] += fast["in_period"]["customers"]
            seen["lapsed"] += fast["lapsed"]["lapsed"]
    assert all(seen.values()), seen  # every count was seen non-zero somewhere
