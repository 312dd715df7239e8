"""The purchase-based defaults on hand-computed fixtures (lifecycle_data), on SQLite and
PostgreSQL: churn as N days without a purchase beside month on month, the lapsed share,
lifetime and predicted value, cohorts by first purchase (with members who never bought),
points placed at the order's time, breakage with forfeits and no expiry, and a programme
younger than its period and its comparison period."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from loyalty_ledger.insights import report
from loyalty_ledger.insights.period import make_period

from .fixture_data import GAMMA, YOUNG, ts
from .lifecycle_data import NOW_YOUNG

H1 = make_period("2026-01-01", "2026-07-01")  # complete: as of 1 July
Q2 = make_period("2026-04-01", "2026-07-01")
# N = 90 days before 1 July is 2 April; before 1 April, 1 January; before 1 January, 3 October.


@pytest.fixture(scope="module")
def engine(seeded: tuple[str, Engine]) -> Engine:
    return seeded[1]


def _rates(rows: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [(r["month"], r["churned"], r["active_at_start"]) for r in rows]


def test_churn_is_90_days_without_a_purchase(engine: Engine) -> None:
    r = report.churn(engine=engine, program=GAMMA, period=Q2)
    assert r["definition"] == "no purchase for 90 days" and r["days"] == 90
    # At the start (a purchase from 1 Jan to 1 Apr): P (6 Mar), Q (10 Mar), T (20 Feb); U's
    # last (1 Dec) is older. Nobody new bought before 2 Apr. Churned (nothing since 2 Apr): Q.
    assert (r["customers_at_start"], r["new_customers"], r["at_risk"]) == (3, 0, 3)
    assert (r["churned"], r["retained"], r["churn_rate"]) == (1, 2, 1 / 3)
    # Month on month P, who buys every 60 days, counts as churned in April; T and V in May.
    assert _rates(r["monthly"]) == [("2026-04", 2, 2), ("2026-05", 2, 2), ("2026-06", 1, 1)]
    assert [m["churn_rate"] for m in r["monthly"]] == [1.0, 1.0, 1.0]


def test_churn_over_half_a_year(engine: Engine) -> None:
    r = report.churn(engine=engine, program=GAMMA, period=H1)
    # At the start: U (1 Dec). New and able to lapse (first purchase 1 Jan - 2 Apr): P, Q, T.
    # Churned: U and Q.
    assert (r["customers_at_start"], r["new_customers"], r["churned"]) == (1, 3, 2)
    assert r["churn_rate"] == 0.5 and r["note"] is None
    assert _rates(r["monthly"]) == [
        ("2026-01", 1, 1),  # Dec {U} -> Jan {P, Q}
        ("2026-02", 1, 2),  # P skips February
        ("2026-03", 1, 2),  # T skips March
        ("2026-04", 2, 2),
        ("2026-05", 2, 2),
        ("2026-06", 1, 1),
    ]
    # Of the customers who first bought before 2 Apr (U, P, Q, T), U and Q have lapsed.
    assert r["lapsed"] == {"customers": 4, "lapsed": 2, "lapsed_rate": 0.5}
    # Kept: any earn record counts (signups too), against Jul-Dec 2025.
    act = r["activity"]
    assert act["previous_period"]["from"] == "2025-07-01T00:00:00Z"
    assert act["previous_period"]["to"] == "2026-01-01T00:00:00Z"
    assert (act["active_at_start"], act["churned"], act["new_or_returning"]) == (1, 1, 6)
    assert _rates(act["monthly"]) == [
        ("2026-01", 1, 1),
        ("2026-02", 1, 2),
        ("2026-03", 3, 4),  # R and S signed up in February and never came back
        ("2026-04", 2, 2),
        ("2026-05", 2, 2),
        ("2026-06", 1, 1),  # V's review bonus in June counts as activity
    ]


def test_churn_window_is_the_brands_setting(engine: Engine) -> None:
    from loyalty_ledger.insights.settings import set_settings

    try:
        set_settings(engine=engine, brand_id="gamma", churn_days=45)
        r = report.churn(engine=engine, program=GAMMA, period=Q2)
        # 45 days before 1 Apr is 15 Feb: P (6 Mar), Q (10 Mar) and T (20 Feb) were active;
        # 45 days before 1 Jul is 17 May, so V (first bought 20 Apr) could lapse too, and
        # P (5 May: a 60-day cycle is longer than 45 days), Q, T (15 Apr) and V all have.
        assert (r["days"], r["customers_at_start"], r["new_customers"]) == (45, 3, 1)
        assert (r["churned"], r["churn_rate"]) == (4, 1.0)
    finally:
        set_settings(engine=engine, brand_id="gamma", churn_days=90)


def test_lifetime_value_to_date(engine: Engine) -> None:
    r = report.clv(engine=engine, program=GAMMA, period=Q2)["lifetime"]
    # U 80k (1 order), P 180k (3), Q 120k (3), T 150k (2), V 30k (1): every purchase to 1 Jul
    assert r["as_of"] == "2026-07-01T00:00:00Z"
    assert (r["customers"], r["orders"], r["revenue"]) == (5, 10, 560_000)
    assert (r["average_order_value"], r["orders_per_customer"]) == (56_000, 2.0)
    assert (r["mean"], r["median"], r["p25"], r["p75"], r["p90"], r["max"]) == (
        112_000,
        120_000,
        80_000,
        150_000,
        180_000,
        180_000,
    )


def test_predicted_value(engine: Engine) -> None:
    r = report.clv(engine=engine, program=GAMMA, period=H1)
    pred, spent = r["predicted"], r["in_period"]
    # Active when the last window (2 Apr - 1 Jul) opened (a purchase 2 Jan - 2 Apr): P, Q, T.
    # In the window: P 60k, T 50k; Q bought nothing (churned, 1 of 3).
    assert (pred["customers"], pred["orders"], pred["revenue"]) == (3, 2, 110_000)
    assert (pred["churned"], pred["churn_rate"]) == (1, 1 / 3)
    assert pred["average_order_value"] == 55_000 and pred["orders_per_customer"] == 2 / 3
    k = 3 * 365 / 90  # 90-day windows in the 3-year horizon
    windows = (1 - (2 / 3) ** k) / (1 / 3)  # geometric: each window kept with probability 2/3
    assert pred["expected_windows"] == pytest.approx(windows)
    assert pred["expected_windows"] == pytest.approx(2.97839, abs=1e-5)
    assert pred["value"] == int(110_000 * windows // 3) == 109_207
    assert pred["expected_lifetime_days"] == pytest.approx(windows * 90)
    # Kept: spend in the half year (U bought before it)
    assert (spent["customers"], spent["revenue"], spent["clv_mean"]) == (4, 480_000, 120_000)


def test_cohorts_by_first_purchase(engine: Engine) -> None:
    r = report.retention(engine=engine, program=GAMMA, period=H1)
    got = [(c["cohort"], c["size"], c["active"]) for c in r["cohorts"]]
    assert got == [
        ("2026-01", 2, [2, 1, 2, 0, 1, 0]),  # P and Q; P every other month
        ("2026-02", 1, [1, 0, 1, 0, 0]),  # T, not R and S: they never bought
        ("2026-03", 0, [0, 0, 0, 0]),
        ("2026-04", 1, [1, 0, 0]),  # V
        ("2026-05", 0, [0, 0]),
        ("2026-06", 0, [0]),
    ]
    assert r["cohorts"][0]["retention"] == [1.0, 0.5, 1.0, 0.0, 0.5, 0.0]
    assert r["cohorts"][2]["retention"] == [None] * 4
    # Kept: by first activity, R and S (signups only) make February's cohort 3, 2 never bought
    act = [(c["cohort"], c["size"], c["never_bought"], c["active"]) for c in r["activity_cohorts"]]
    assert act[:4] == [
        ("2026-01", 2, 0, [2, 1, 2, 0, 1, 0]),
        ("2026-02", 3, 2, [3, 0, 1, 0, 0]),
        ("2026-03", 0, 0, [0, 0, 0, 0]),
        ("2026-04", 1, 0, [1, 0, 1]),  # V's June review counts as activity
    ]
    assert r["activity_cohorts"][1]["retention"][0] == 1.0  # a signup month is 100 % by rule


def test_points_at_the_orders_time(engine: Engine) -> None:
    """Every gamma earning was issued on 2 July; each earning's points land in its order's
    month, the goodwill issue (no earn record) at its block's time."""
    period = make_period("2026-01-01", "2026-08-01")
    r = report.points(engine=engine, program=GAMMA, period=period, now=ts("2026-08-01"))
    trend = [
        (t["month"], t["issued_by_event_time"], t["issued_by_block_time"])
        for t in r["flows"]["trend"]
    ]
    assert trend == [
        ("2026-01", 6, 0),  # P 6 (Q's 4: below)
        ("2026-02", 314, 0),  # Q 4, T 10; signups R, T, S 100 each
        ("2026-03", 10, 0),
        ("2026-04", 8, 0),  # T 5, V 3
        ("2026-05", 6, 25),  # P 6; the goodwill issue of 15 May
        ("2026-06", 0, 0),  # V's review bonus: its block is not indexed yet
        # not the 456 points of the 2 July blocks; Q's 4 stay at their block's time: its earn
        # record names the block a reorg replaced, so it cannot be matched to the mirror
        ("2026-07", 0, 4),
    ]
    f = r["flows"]
    assert (f["issued"], f["issued_by_event_time"], f["issued_by_block_time"]) == (373, 344, 29)
    assert (f["forfeited"], f["redeemed"], f["expired"], f["credited"]) == (12, 20, 0, 373)
    assert f["breakage_rate"] == 12 / 373 and f["redemption_rate"] == 20 / 373
    assert "order's" in f["timing"] and "block" in f["timing"]
    june = r["flows"]["trend"][5]
    assert june["forfeited"] == 12 and june["breakage_rate"] is None  # nothing credited in June
    # Half a year without July: the same earnings by their orders' time, the block-time rest.
    h1 = report.points(engine=engine, program=GAMMA, period=H1, now=ts("2026-08-01"))["flows"]
    assert (h1["issued_by_event_time"], h1["issued_by_block_time"]) == (344, 25)
    # All time: U's December earnings (108) make up the rest; forfeits without an expiry
    # policy are the whole breakage, on the same denominator as the redemption rate.
    assert (r["issued"], r["credited"], r["expired"], r["forfeited"]) == (481, 481, 0, 12)
    assert r["breakage_rate"] == r["forfeit_breakage_rate"] == 12 / 481
    assert r["expiry_breakage_rate"] == 0.0 and r["redemption_rate"] == 20 / 481
    assert r["books"]["balanced"] and r["outstanding_liability"] == 449


def test_young_programme_default_period(engine: Engine) -> None:
    """Seen on 10 July, the programme started on 4 May: the default period starts with May
    (no empty months), July is partial, and the figures are there although the previous
    period (February to 10 April) is entirely before the programme."""
    period = report.period_for(engine=engine, program=YOUNG, start=None, end=None, now=NOW_YOUNG)
    assert (period.start, period.end, period.as_of) == (
        ts("2026-05-01"),
        ts("2026-07-11"),
        NOW_YOUNG,
    )
    assert period.to_json()["partial_months"] == ["2026-07"] and period.partial
    rep = {
        name: getattr(report, name)(engine=engine, program=YOUNG, period=period)
        for name in ("churn", "clv", "retention", "basket")
    }
    churn = rep["churn"]
    # The brand's window is 30 days: 10 Jun. W, X, Y first bought before it; W has lapsed.
    assert (churn["days"], churn["at_risk"], churn["churned"]) == (30, 3, 1)
    assert churn["churn_rate"] == 1 / 3 and churn["customers_at_start"] == 0
    assert churn["lapsed"] == {"customers": 3, "lapsed": 1, "lapsed_rate": 1 / 3}
    monthly = [
        (m["month"], m["partial"], m["churned"], m["active_at_start"]) for m in churn["monthly"]
    ]
    assert monthly == [
        ("2026-05", False, 0, 0),
        ("2026-06", False, 1, 3),
        ("2026-07", True, 2, 3),
    ]
    # Kept: the activity churn has nothing to compare with, and says so with a dash.
    act = churn["activity"]
    assert act["previous_period"]["from"] == "2026-02-01T00:00:00Z"
    assert act["active_at_start"] == 0 and act["churn_rate"] is None
    assert rep["basket"]["previous"]["orders"] == 0
    # Active in 11 May - 10 Jun: Y, who bought again on 5 Jul: nobody churned, so the predicted
    # value runs to the 3-year horizon: 30k x 1 x 36.5 windows.
    pred = rep["clv"]["predicted"]
    assert (pred["customers"], pred["churned"], pred["expected_windows"]) == (1, 0, 36.5)
    assert pred["value"] == 1_095_000 and pred["expected_lifetime_days"] == 1095
    life = rep["clv"]["lifetime"]
    assert (life["customers"], life["orders"], life["revenue"], life["median"]) == (
        4,
        7,
        190_000,
        45_000,
    )
    cohorts = [
        (c["cohort"], c["size"], c["retention"], c["partial"]) for c in rep["retention"]["cohorts"]
    ]
    assert cohorts == [
        ("2026-05", 3, [1.0, 2 / 3, 1 / 3], [False, False, True]),
        ("2026-06", 1, [1.0, 0.0], [False, True]),
        ("2026-07", 0, [None], [True]),
    ]


def test_too_young_to_measure(engine: Engine) -> None:
    """On 25 May, no young customer has had 30 days to lapse: no rate, and a note."""
    period = report.period_for(
        engine=engine, program=YOUNG, start=None, end=None, now=ts("2026-05-25")
    )
    r = report.churn(engine=engine, program=YOUNG, period=period)
    assert (r["at_risk"], r["churn_rate"]) == (0, None)
    assert "nobody could lapse" in r["note"]
    pred = report.clv(engine=engine, program=YOUNG, period=period)["predicted"]
    assert pred["value"] is None and pred["note"]


def test_pure_edges() -> None:
    from loyalty_ledger.insights import lifecycle as lc

    assert lc.expected_windows(1.0, 12.0) == 1.0  # everyone lapses: the current window only
    assert lc.expected_windows(0.0, 12.0) == 12.0  # nobody lapses: the whole horizon
    assert lc.expected_windows(0.5, 2.0) == pytest.approx(1.5)  # 1 + 1/2
    assert lc.lifetime_value([])["mean"] is None
    empty = lc.predicted_value([], days=90)
    assert (empty["value"], empty["churn_rate"], empty["customers"]) == (None, None, 0)
    assert lc.lapse_churn([], start=0, as_of=10**6, days=1)["churn_rate"] is None
    day = 86_400
    h = lc.CustomerHistory(
        "a",
        1,
        10,
        first=0,
        last=0,
        last_before_start=0,
        active_at_window=False,
        window_orders=0,
        window_spend=0,
    )
    # bought once at t=0; period [1 day, 3 days), window 1 day: active at the start, lapsed
    r = lc.lapse_churn([h], start=day, as_of=3 * day, days=1)
    assert (r["customers_at_start"], r["churned"], r["churn_rate"]) == (1, 1, 1.0)
    # a window longer than the period: the lapse falls after it, not churned yet
    r = lc.lapse_churn([h], start=day, as_of=3 * day, days=5)
    assert (r["customers_at_start"], r["churned"]) == (1, 0)
