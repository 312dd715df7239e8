"""Campaign budgets and per-member limits in SQL, on SQLite and PostgreSQL: reserved in the
earning's transaction, never overspent by concurrent earnings, given back on release."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, select

from loyalty_ledger.programme.claims import release_claims
from loyalty_ledger.programme.rules import campaigns, store
from loyalty_ledger.programme.rules.store import T_CAMP, T_LINE
from loyalty_ledger.store.offchain import table
from loyalty_ledger.store.rules_tables import RuleUsage

from .conftest import at, earn_order, member, order, setup_brand

START, END = int(at(1, 0).timestamp()), int(at(30, 0).timestamp())


def _campaign_lines(engine: Engine, cid: str) -> tuple[int, int]:
    with engine.connect() as c:
        pts, n = c.execute(
            select(func.coalesce(func.sum(T_LINE.c.points), 0), func.count()).where(
                T_LINE.c.campaign_id == cid
            )
        ).one()
        spent = c.execute(select(T_CAMP.c.spent).where(T_CAMP.c.campaign_id == cid)).scalar()
    assert spent == pts
    return int(pts), int(n)


def test_budget_never_overspent_under_concurrent_earning(engine: Engine) -> None:
    setup_brand(engine)
    campaigns.put_campaign(
        engine=engine, brand_id="b", campaign_id="launch", starts_at=START, ends_at=END, budget=100
    )
    store.put_rule(
        engine=engine,
        brand_id="b",
        rule_id="launch-bonus",
        spec={
            "trigger": "purchase",
            "effect": {"type": "fixed", "points": 7},
            "campaign_id": "launch",
        },
    )
    orders = [order(member(), f"o{i}", 5_000, at(2)) for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda v: earn_order(engine, "b", v), orders))
    pts, n = _campaign_lines(engine, "launch")
    assert (pts, n) == (98, 14)  # 14 x 7 fit in 100; the 15th would overspend
    paid = sorted(r[0][1]["points"] for r in results)
    assert paid.count(12) == 14 and paid.count(5) == 26  # base 5 each; +7 for 14 of them
    report = campaigns.campaign_report(engine=engine, brand_id="b", campaign_id="launch")
    assert report["cost"] == 98 and report["members_reached"] == 14 and report["remaining"] == 2


def test_release_gives_budget_and_uses_back(engine: Engine) -> None:
    setup_brand(engine)
    campaigns.put_campaign(
        engine=engine, brand_id="b", campaign_id="c", starts_at=START, ends_at=END, budget=10
    )
    store.put_rule(
        engine=engine,
        brand_id="b",
        rule_id="once",
        spec={
            "trigger": "purchase",
            "effect": {"type": "fixed", "points": 10},
            "campaign_id": "c",
            "limit": {"count": 1, "period": "month"},
        },
    )
    m = member()
    first = earn_order(engine, "b", order(m, "a", 1000, at(3)))
    assert first[0][1]["points"] == 11
    assert earn_order(engine, "b", order(member(), "b", 1000, at(3)))[0][1]["points"] == 1
    release_claims(engine, [first[0][0]])  # its transaction failed
    assert _campaign_lines(engine, "c") == (0, 0)
    with engine.connect() as c:
        assert set(c.execute(select(table(RuleUsage).c.used)).scalars()) == {0}
    assert earn_order(engine, "b", order(m, "a2", 1000, at(4)))[0][1]["points"] == 11


def test_per_member_limit_per_period(engine: Engine) -> None:
    setup_brand(engine)
    store.put_rule(
        engine=engine,
        brand_id="b",
        rule_id="twice-a-day",
        spec={
            "trigger": "purchase",
            "effect": {"type": "fixed", "points": 50},
            "limit": {"count": 2, "period": "day"},
        },
    )
    m, other = member(), member()
    got = [
        earn_order(engine, "b", order(m, f"d1-{i}", 0, at(5, 8 + i)))[0][1]["points"]
        for i in range(4)
    ]
    assert got == [50, 50, 0, 0]
    assert earn_order(engine, "b", order(other, "o1", 0, at(5)))[0][1]["points"] == 50
    assert earn_order(engine, "b", order(m, "d2", 0, at(6)))[0][1]["points"] == 50  # new day
    # concurrent earnings of one member on a fresh day: still exactly two paid
    orders = [order(m, f"d7-{i}", 0, at(7, 1 + i)) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        paid = [r[0][1]["points"] for r in pool.map(lambda v: earn_order(engine, "b", v), orders)]
    assert sorted(paid) == [0] * 6 + [50, 50]
