"""Expired points per period, breakage (expired and forfeited), swaps and the points identity,
on beta's hand-computed fixture (fixture_data.BETA_*) and in the pure functions. Beta has no
earn records: its flows are all placed by block time."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from loyalty_ledger.insights import economy as m
from loyalty_ledger.insights import report
from loyalty_ledger.insights.period import make_period

from .conftest import Api
from .fixture_data import ACME, BETA, ts

Q = {"from": "2026-01-01", "to": "2026-04-01"}
P = make_period(*Q.values())
NOW = ts("2026-11-30")  # after every expiry of the fixture but A's epoch-40 lot (2029)


@pytest.fixture(scope="module")
def engine(seeded: tuple[str, Engine]) -> Engine:
    return seeded[1]


def test_flows_per_month(engine: Engine) -> None:
    r = report.points(engine=engine, program=BETA, period=P, now=NOW)
    trend = [
        (
            t["month"],
            t["issued"],
            t["swapped_in"],
            t["swapped_out"],
            t["redeemed"],
            t["forfeited"],
            t["expired"],
        )
        for t in r["flows"]["trend"]
    ]
    # Jan: B issued 60, A swapped in 50, A's epoch-4 lot (70) expired Jan 29.
    # Feb: C issued 40, B swapped out 20, B's epoch-5 lot (15) expired Feb 28.
    # Mar: C swapped in 30, A redeemed 10, C forfeited 5, C's epoch-6 lot (25) expired Mar 30.
    assert trend == [
        ("2026-01", 60, 50, 0, 0, 0, 70),
        ("2026-02", 40, 0, 20, 0, 0, 15),
        ("2026-03", 0, 30, 0, 10, 5, 25),
    ]
    trend = r["flows"]["trend"]
    assert [t["expiry_breakage_rate"] for t in trend] == [70 / 110, 15 / 40, 25 / 30]
    # breakage counts March's forfeit too; redemption has the same denominator
    assert [t["breakage_rate"] for t in trend] == [70 / 110, 15 / 40, 30 / 30]
    assert [t["redemption_rate"] for t in trend] == [0 / 110, 0 / 40, 10 / 30]
    assert [t["credited"] for t in trend] == [110, 40, 30]
    f = r["flows"]
    # Dec's and Apr's issues and the untimed row fall outside the period.
    assert (f["issued"], f["swapped_in"], f["swapped_out"], f["expired"]) == (100, 80, 20, 110)
    assert (f["issued_by_block_time"], f["issued_by_event_time"]) == (100, 0)
    assert f["expiry_breakage_rate"] == 110 / 180
    assert f["breakage"] == 115 and f["breakage_rate"] == 115 / 180


def test_all_time_and_books(engine: Engine) -> None:
    r = report.points(engine=engine, program=BETA, period=P, now=NOW)
    assert (r["issued"], r["swapped_in"], r["swapped_out"]) == (230, 80, 20)
    assert (r["redeemed"], r["forfeited"], r["expired"]) == (10, 5, 110)
    assert r["swaps"] == {"in": 2, "out": 1}
    # 190 held in the mirror, less C's lot expired by the clock but not swept yet.
    assert r["outstanding_liability"] == 165
    assert r["credited"] == 310 and r["expiry_breakage_rate"] == 110 / 310
    assert r["breakage_rate"] == (110 + 5) / 310 and r["forfeit_breakage_rate"] == 5 / 310
    assert r["redemption_rate"] == 10 / 310
    assert r["books"] == {
        "issued": 230,
        "swapped_in": 80,
        "redeemed": 10,
        "swapped_out": 20,
        "forfeited": 5,
        "expired": 110,
        "outstanding": 165,
        "credits": 310,
        "debits": 310,
        "difference": 0,
        "balanced": True,
    }


def test_expired_only_up_to_now(engine: Engine) -> None:
    # On Mar 15, C's epoch-6 lot (Mar 30) is still live: it is neither expired nor swept.
    r = report.points(engine=engine, program=BETA, period=P, now=ts("2026-03-15"))
    assert r["expired"] == 85 and r["outstanding_liability"] == 190
    assert [t["expired"] for t in r["flows"]["trend"]] == [70, 15, 0]
    assert r["books"]["balanced"]
    # A lot the mirror swept counts as expired even before the clock says so.
    early = report.points(engine=engine, program=BETA, period=P, now=ts("2026-02-01"))
    assert early["expired"] == 85 and early["books"]["balanced"]


def test_other_brands_untouched(engine: Engine) -> None:
    r = report.points(engine=engine, program=ACME, period=P, now=NOW)
    assert (r["expired"], r["swapped_in"], r["swapped_out"]) == (0, 0, 0)
    assert r["outstanding_liability"] == 130 and r["books"]["balanced"]
    # acme's ledger lines carry no block time: no flows in any period.
    assert r["flows"]["issued"] == 0 and r["flows"]["breakage_rate"] is None


def test_points_endpoint_takes_a_period(api: Api) -> None:
    r = api.client.get("/brands/beta/insights/points", params=Q, headers=api.h("beta:viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"]["from"] == "2026-01-01T00:00:00Z"
    assert body["flows"]["expired"] == 110 and body["flows"]["swapped_in"] == 80
    assert body["books"]["balanced"] is True
    bad = api.client.get(
        "/brands/beta/insights/points", params={"from": "x"}, headers=api.h("beta:viewer")
    )
    assert bad.status_code == 422


def test_point_flows_pure() -> None:
    F = m.MonthFlows
    r = m.point_flows(
        [
            F(1, issued_by_event=50, issued_by_block=30, swapped_in=20, expired=25, forfeited=5),
            F(2),
        ],
        partial={2},
    )
    assert r["issued"] == 80 and r["credited"] == 100 and r["expired"] == 25
    assert r["breakage_rate"] == 0.30 and r["expiry_breakage_rate"] == 0.25
    trend: Any = r["trend"]
    assert trend[1]["breakage_rate"] is None  # nothing credited that month
    assert [t["partial"] for t in trend] == [False, True]
    assert m.point_flows([])["breakage_rate"] is None
    rates = m.rates(issued=0, swapped_in=10, redeemed=2, forfeited=4, expired=1)
    assert (rates["breakage_rate"], rates["redemption_rate"]) == (0.5, 0.2)


def test_books_pure() -> None:
    ok = m.books(
        issued=100,
        swapped_in=10,
        redeemed=30,
        swapped_out=5,
        forfeited=5,
        expired=20,
        outstanding=50,
    )
    assert ok["balanced"] and ok["credits"] == ok["debits"] == 110
    off = m.books(
        issued=100,
        swapped_in=0,
        redeemed=0,
        swapped_out=0,
        forfeited=0,
        expired=0,
        outstanding=99,
    )
    assert off["difference"] == 1 and not off["balanced"]
