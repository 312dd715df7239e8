"""Each metric from SQL (SQLite and PostgreSQL) against the hand-computed fixture.

Period: 2026-01-01 .. 2026-04-01 (Jan, Feb, Mar); the previous period is Oct, Nov and Dec 2025.
The figures kept from the first definitions (spend in the period, activity-based churn and
cohorts) are checked here; the purchase-based defaults in test_lifecycle.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from loyalty_ledger.insights import full_report, report
from loyalty_ledger.insights.period import make_period

from .fixture_data import ACME, A, C, E

P = make_period("2026-01-01", "2026-04-01")


@pytest.fixture
def engine(seeded: tuple[str, Engine]) -> Engine:
    return seeded[1]


def test_clv(engine: Engine) -> None:
    r = report.clv(engine=engine, program=ACME, period=P)
    assert r["currency"] == "VND"
    r = r["in_period"]
    # A: 3 orders 350k; C: 2 orders 450k; E: 1 order 400k (pending, USD, beta excluded)
    assert (r["customers"], r["orders"], r["revenue"]) == (3, 6, 1_200_000)
    assert r["average_order_value"] == 200_000 and r["clv_mean"] == 400_000
    assert r["clv_median"] == 400_000 and r["purchase_frequency"] == 2.0
    assert [b["count"] for b in r["distribution"]] == [0, 0, 0, 1, 2]


def test_frequency_and_top(engine: Engine) -> None:
    f = report.frequency(engine=engine, program=ACME, period=P)
    assert f["repeat_customers"] == 2 and f["repeat_purchase_rate"] == 2 / 3
    t = report.top_customers(engine=engine, program=ACME, period=P, limit=2)
    assert [(x["member"], x["spend"]) for x in t["by_spend"]] == [(C, 450_000), (E, 400_000)]
    assert [(x["member"], x["orders"]) for x in t["by_orders"]] == [(A, 3), (C, 2)]


def test_basket_trend(engine: Engine) -> None:
    r = report.basket(engine=engine, program=ACME, period=P)
    assert r["average_order_value"] == 200_000 and r["items_per_order"] == 16 / 6
    got = [(x["month"], x["orders"], x["revenue"], x["average_order_value"]) for x in r["trend"]]
    assert got == [
        ("2026-01", 3, 600_000, 200_000),
        ("2026-02", 2, 200_000, 100_000),
        ("2026-03", 1, 400_000, 400_000),
    ]
    assert [x["items_per_order"] for x in r["trend"]] == [3.0, 1.5, 4.0]


def test_churn(engine: Engine) -> None:
    r = report.churn(engine=engine, program=ACME, period=P)["activity"]
    assert r["previous_period"]["from"] == "2025-10-01T00:00:00Z"
    # active in Oct-Dec: D (Nov 20), A, B (Dec); in the period: A, C, E, D
    assert (r["active_at_start"], r["churned"], r["retained"]) == (3, 1, 2)
    assert r["churn_rate"] == 1 / 3
    assert [(x["month"], x["churned"], x["active_at_start"]) for x in r["monthly"]] == [
        ("2026-01", 1, 2),  # Dec {A, B} -> Jan {A, C}
        ("2026-02", 0, 2),  # Jan {A, C} -> Feb {A, C, E}
        ("2026-03", 2, 3),  # Feb {A, C, E} -> Mar {E, D}
    ]


def test_all_churned(engine: Engine) -> None:
    r = report.churn(engine=engine, program=ACME, period=make_period("2026-04-01", "2026-06-30"))
    r = r["activity"]
    assert r["active_at_start"] == 4 and r["churned"] == 4 and r["churn_rate"] == 1.0


def test_retention_cohorts(engine: Engine) -> None:
    r = report.retention(engine=engine, program=ACME, period=P)
    kept = ("cohort", "size", "active", "retention")
    assert [{k: c[k] for k in kept} for c in r["activity_cohorts"]] == [
        {"cohort": "2026-01", "size": 1, "active": [1, 1, 0], "retention": [1.0, 1.0, 0.0]},
        {"cohort": "2026-02", "size": 1, "active": [1, 1], "retention": [1.0, 1.0]},
        {"cohort": "2026-03", "size": 0, "active": [0], "retention": [None]},
    ]
    # C (Jan) and E (Feb) both bought; every month of the period is complete
    assert [c["never_bought"] for c in r["activity_cohorts"]] == [0, 0, 0]
    assert all(not any(c["partial"]) for c in r["activity_cohorts"])


def test_nps(engine: Engine) -> None:
    r = report.nps(engine=engine, program=ACME, period=P)
    assert (r["answers"], r["promoters"], r["passives"], r["detractors"]) == (5, 2, 1, 2)
    assert r["nps"] == 0.0
    assert [t["nps"] for t in r["trend"]] == [100.0, 50.0, -100.0]


def test_points_economy(engine: Engine) -> None:
    r = report.points(engine=engine, program=ACME)
    assert (r["issued"], r["redeemed"], r["forfeited"]) == (180, 40, 10)
    assert r["outstanding_liability"] == 130 and r["redemption_rate"] == 40 / 180
    # forfeits without expiry: acme has no expiry policy, its breakage is the 10 forfeited
    assert (r["expired"], r["credited"], r["breakage"]) == (0, 180, 10)
    assert r["breakage_rate"] == r["forfeit_breakage_rate"] == 10 / 180
    assert r["expiry_breakage_rate"] == 0.0
    assert r["gifts"] == {"count": 3, "points": 30, "senders": 2, "receivers": 2}
    assert r["transfers"] == {"count": 1, "points": 7}
    assert [(t["name"], t["passes"], t["active"], t["expired"]) for t in r["tiers"]] == [
        ("Bronze", 1, 1, 0),
        ("Silver", 2, 1, 1),
        ("Gold", 1, 1, 0),
    ]


def test_empty_period(engine: Engine) -> None:
    p = make_period("2030-01-01", "2030-02-01")
    rep: dict[str, Any] = full_report(engine=engine, program=ACME, period=p)
    spent = rep["clv"]["in_period"]
    assert spent["customers"] == 0 and spent["clv_mean"] is None
    assert rep["basket"]["trend"][0]["orders"] == 0
    assert rep["churn"]["activity"]["churn_rate"] is None and rep["nps"]["nps"] is None
    assert rep["retention"]["activity_cohorts"][0]["size"] == 0
    assert rep["retention"]["cohorts"][0]["size"] == 0
    # a future period is seen as of now, not as of 2030 (when every customer would be lapsed)
    assert rep["period"]["partial"] and rep["period"]["as_of"] < "2030"
    assert rep["churn"]["churn_rate"] is None and rep["clv"]["predicted"]["customers"] == 0
    assert rep["top_customers"]["by_spend"] == []
