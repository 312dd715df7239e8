"""The pure metric functions: definitions and edge cases (empty, one customer, all churned).
The purchase-based lifecycle definitions are in test_lifecycle."""

from __future__ import annotations

import pytest

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.insights import economy
from loyalty_ledger.insights import lifecycle as lc
from loyalty_ledger.insights import metrics as m
from loyalty_ledger.insights.period import Period, make_period, month_index, month_label
from loyalty_ledger.insights.period import month_start as ms

S = m.CustomerStats


def test_period_spend_per_customer() -> None:
    stats = [S("a", 3, 350_000, 5), S("c", 2, 450_000, 7), S("e", 1, 400_000, 4)]
    r = m.period_spend(stats)
    assert r["customers"] == 3 and r["orders"] == 6 and r["revenue"] == 1_200_000
    assert r["average_order_value"] == 200_000
    assert r["purchase_frequency"] == 2.0
    # CLV = frequency x AOV = revenue / customers
    assert r["clv_mean"] == 400_000
    assert (r["clv_median"], r["clv_p25"], r["clv_p75"], r["clv_max"]) == (
        400_000,
        350_000,
        450_000,
        450_000,
    )
    assert r["distribution"] == [
        {"lo": 0, "hi": 100_000, "count": 0},
        {"lo": 100_000, "hi": 200_000, "count": 0},
        {"lo": 200_000, "hi": 300_000, "count": 0},
        {"lo": 300_000, "hi": 400_000, "count": 1},
        {"lo": 400_000, "hi": 500_000, "count": 2},
    ]


def test_clv_money_is_integer_floored() -> None:
    r = m.period_spend([S("a", 3, 100, 3), S("b", 1, 1, 1)])
    assert r["average_order_value"] == 25 and r["clv_mean"] == 50 and r["clv_median"] == 50
    assert all(isinstance(r[k], int) for k in ("revenue", "clv_mean", "average_order_value"))


def test_clv_empty_and_single() -> None:
    empty = m.period_spend([])
    assert empty["customers"] == 0 and empty["average_order_value"] is None
    assert empty["clv_mean"] is None and empty["clv_median"] is None
    assert empty["distribution"] == []
    one = m.period_spend([S("a", 2, 30_000, 2)])
    assert one["clv_mean"] == one["clv_median"] == one["clv_p90"] == 30_000
    assert one["average_order_value"] == 15_000
    assert sum(b["count"] for b in one["distribution"]) == 1


def test_histogram_widths() -> None:
    assert m.nice_width(0, 8) == 1
    assert m.nice_width(7, 8) == 1
    assert m.nice_width(8, 8) == 2
    assert m.nice_width(450_000, 8) == 100_000
    h = m.histogram([0, 0, 5])
    assert h[0] == {"lo": 0, "hi": 1, "count": 2} and h[-1]["count"] == 1


def test_frequency_and_repeat_rate() -> None:
    r = m.frequency([S("a", 3, 1, 1), S("c", 2, 1, 1), S("e", 1, 1, 1), S("z", 7, 1, 1)])
    assert r["customers"] == 4 and r["orders"] == 13
    assert r["purchase_frequency"] == 13 / 4
    assert r["repeat_customers"] == 3 and r["repeat_purchase_rate"] == 0.75
    assert {d["orders"]: d["customers"] for d in r["orders_per_customer"]} == {
        "1": 1,
        "2": 1,
        "3": 1,
        "4": 0,
        "5+": 1,
    }
    empty = m.frequency([])
    assert empty["purchase_frequency"] is None and empty["repeat_purchase_rate"] is None


def test_top_customers_ties_are_stable() -> None:
    stats = [S("b", 1, 100, 1), S("a", 1, 100, 1), S("c", 5, 50, 9)]
    r = m.top_customers(stats, limit=2)
    assert [x["member"] for x in r["by_spend"]] == ["a", "b"]
    assert [x["member"] for x in r["by_orders"]] == ["c", "a"]
    assert m.top_customers([])["by_spend"] == []


def test_basket_trend() -> None:
    months = [m.MonthStats(24312, 3, 600_000, 9, 2), m.MonthStats(24313, 0, 0, 0, 0)]
    r = m.basket(months, partial={24313})
    assert r["average_order_value"] == 200_000 and r["items_per_order"] == 3.0
    assert r["trend"][0]["month"] == "2026-01" and r["trend"][0]["partial"] is False
    assert r["items"] == 9 and r["trend"][0]["items"] == 9
    assert r["trend"][1] == {
        "month": "2026-02",
        "partial": True,
        "orders": 0,
        "revenue": 0,
        "items": 0,
        "customers": 0,
        "average_order_value": None,
        "items_per_order": None,
    }


def test_churn_definition_and_edges() -> None:
    r = lc.period_churn({"a", "b", "d"}, {"a", "c", "d", "e"})
    assert r == {
        "active_at_start": 3,
        "churned": 1,
        "retained": 2,
        "new_or_returning": 2,
        "active_in_period": 4,
        "churn_rate": 1 / 3,
    }
    assert lc.period_churn({"a", "b"}, set())["churn_rate"] == 1.0  # all churned
    assert lc.period_churn(set(), {"a"})["churn_rate"] is None  # nobody to churn
    assert lc.period_churn({"a"}, {"a"})["churn_rate"] == 0.0  # single customer stays


def test_monthly_churn_and_cohorts() -> None:
    jan = 2026 * 12
    act = {"a": {jan - 1, jan}, "b": {jan - 1}, "c": {jan, jan + 1}}
    rows = lc.monthly_churn(act, [jan, jan + 1])
    assert [(r["month"], r["churned"], r["churn_rate"]) for r in rows] == [
        ("2026-01", 1, 0.5),
        ("2026-02", 1, 0.5),
    ]
    first = {"a": jan - 1, "b": jan - 1, "c": jan}
    c = lc.cohorts(act, first, [jan, jan + 1], partial={jan + 1})
    assert c == [
        {
            "cohort": "2026-01",
            "size": 1,
            "active": [1, 1],
            "retention": [1.0, 1.0],
            "partial": [False, True],
        },
        {"cohort": "2026-02", "size": 0, "active": [0], "retention": [None], "partial": [True]},
    ]
    assert lc.cohorts({}, {}, []) == []


def test_nps() -> None:
    jan = 2026 * 12
    r = m.nps([(jan, 10), (jan, 9), (jan, 8), (jan, 6), (jan + 1, 0)], [jan, jan + 1, jan + 2])
    assert (r["answers"], r["promoters"], r["passives"], r["detractors"]) == (5, 2, 1, 2)
    assert r["nps"] == 0.0
    assert [t["nps"] for t in r["trend"]] == [25.0, -100.0, None]
    assert [t["answers"] for t in r["trend"]] == [4, 1, 0]  # each month's sample size
    assert m.nps([], [])["nps"] is None
    assert m.nps([(jan, 9)], [jan])["nps"] == 100.0


def test_points_economy() -> None:
    r = economy.points_economy(
        totals={"issue": 200, "redeem": 50},
        counts={"redeem": 2},
        liability=150,
        gift_senders=0,
        gift_receivers=0,
        tiers=[],
    )
    assert r["redemption_rate"] == 0.25 and r["forfeited"] == 0 and r["gifts"]["count"] == 0
    zero = economy.points_economy(
        totals={}, counts={}, liability=0, gift_senders=0, gift_receivers=0, tiers=[]
    )
    assert zero["redemption_rate"] is None


def test_periods() -> None:
    jan = month_index(ms(2026 * 12))
    assert month_label(jan) == "2026-01"
    p = make_period("2026-01-01", "2026-04-01")
    assert p.months() == [jan, jan + 1, jan + 2]
    # the previous period is calendar-aligned: Oct-Dec (92 days), not the 90 days before
    assert (p.previous().start, p.previous().end) == (ms(jan - 3), p.start)
    last_day = make_period("2026-03-31", "2026-04-01").previous()  # a month back, clipped
    assert (last_day.start, last_day.end) == (ms(jan + 1) + 27 * 86_400, ms(jan + 2))
    # a partial period meets the same cut: Sep 1 - Dec 7 12:00 -> May 1 - Aug 7 12:00
    part = make_period("2026-09-01", "2026-12-08", now=ms(jan + 11) + 6 * 86_400 + 43_200)
    prev = part.previous()
    assert (prev.start, prev.end) == (ms(jan + 4), ms(jan + 7) + 6 * 86_400 + 43_200)
    # default: the last three full months and this month to date (today included)
    d = make_period(None, None, now=ms(jan) + 5)
    assert (d.start, d.end) == (ms(jan - 3), ms(jan) + 86_400)
    assert d.months() == [jan - 3, jan - 2, jan - 1, jan] and d.partial
    assert d.as_of == ms(jan) + 5 and [d.month_partial(x) for x in d.months()] == [0, 0, 0, 1]
    assert d.to_json()["partial_months"] == ["2026-01"]
    # a programme younger than the period: it starts with the programme's first month
    young = make_period(None, None, now=ms(jan) + 5, first_activity=ms(jan - 1) + 86_400 * 9)
    assert young.start == ms(jan - 1) and young.months() == [jan - 1, jan]
    assert make_period(None, None, now=ms(jan) + 5, first_activity=0).start == ms(jan - 3)
    # a past period is complete; its as-of time is its end
    assert not p.partial and p.as_of == p.end and p.to_json()["partial_months"] == []
    with pytest.raises(InvalidInput):
        make_period("2026-04-01", "2026-01-01")
    with pytest.raises(InvalidInput):
        make_period("yesterday", None)
    with pytest.raises(InvalidInput):
        Period(0, 11 * 366 * 86400)
