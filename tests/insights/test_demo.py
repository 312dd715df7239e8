"""`loyalty demo`'s generator, small: the chain, the mirror and the earn records agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.artifacts import CONTRACTS, artifact_path
from loyalty_ledger.chain.sender import connect_settings
from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings
from loyalty_ledger.demo.seed import seed_realistic_demo
from loyalty_ledger.demo.today import STORES, orders_per_brand
from loyalty_ledger.demo.world import BRANDS, simulate
from loyalty_ledger.indexer import run_indexer
from loyalty_ledger.insights import full_report, period_for
from loyalty_ledger.insights.earning_split import earnings_split
from loyalty_ledger.insights.queries import T_EARN
from loyalty_ledger.store import make_engine


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    if any(not artifact_path(n).exists() for n in CONTRACTS):
        pytest.fail("compiled artifacts missing: run `scripts/forge build`")
    with Anvil(port=0) as n:
        yield n


def test_simulation_is_deterministic_and_varied() -> None:
    a = simulate(members=150, months=4, seed=3, now=1_780_000_000)
    b = simulate(members=150, months=4, seed=3, now=1_780_000_000)
    assert a.records == b.records and a.surveys == b.surveys
    reasons = {r["reason"] for r in a.records}
    assert {"purchase", "signup", "review", "survey"} <= reasons
    assert a.gifts and a.redemptions and a.passes and a.surveys
    assert all(isinstance(r.get("order_amount", 0), int) for r in a.records)


@pytest.mark.chain
def test_demo_on_chain(node: Anvil, tmp_path: Path) -> None:
    settings = Settings(
        rpc_url=node.url,
        data_dir=tmp_path,
        deployment_file=tmp_path / "deployment.json",
        brand_key=ANVIL_DEV_KEYS[1],
    )
    w3 = connect_settings(settings)
    result = seed_realistic_demo(w3, settings, members=150, months=4, say=lambda _m: None)
    result.deployment.save(settings.deployment_file)
    run_indexer(settings, follow=False, progress=False)
    assert settings.database_url is not None
    engine = make_engine(settings.database_url)
    swaps: dict[str, tuple[int, int]] = {}
    for spec in BRANDS:
        program = result.deployment.program(spec.brand_id)
        period = period_for(engine=engine, program=program, start=None, end=None)
        rep = full_report(engine=engine, program=program, period=period)
        with engine.connect() as conn:
            earned = conn.execute(
                select(func.sum(T_EARN.c.points)).where(T_EARN.c.brand_id == spec.brand_id)
            ).scalar()
        pts = rep["points"]
        # every earn record's points were issued on chain, and the mirror saw them all
        assert pts["issued"] == earned > 0
        assert pts["books"]["balanced"], pts["books"]  # issued + in = spent + out + expired + held
        assert pts["outstanding_liability"] == (
            pts["issued"]
            + pts["swapped_in"]
            - pts["redeemed"]
            - pts["swapped_out"]
            - pts["forfeited"]
            - pts["expired"]
        )
        swaps[spec.brand_id] = (pts["swapped_in"], pts["swapped_out"])
        _check_rules_at_work(engine, spec.brand_id, period)
        assert rep["clv"]["in_period"]["customers"] > 10 and rep["basket"]["orders"] > 0
        assert sum(t["passes"] for t in pts["tiers"]) > 0
        _check_defaults(rep, earned)
    # the demo's partner exchange: coffee points swapped into fashion points
    assert swaps["fashion"] == (result.figures["swapped_in"], 0) and swaps["coffee"][0] == 0
    assert swaps["coffee"][1] > swaps["fashion"][0] > 0
    assert set(result.viewer_keys) == {s.brand_id for s in BRANDS}
    assert result.figures["orders_today"] == 2 * orders_per_brand(150)
    engine.dispose()


def _check_rules_at_work(engine: Any, brand_id: str, period: Any) -> None:
    """Today's purchases went through the brand's rules: each has its rule lines (the history
    before them has none), split by channel and by store too."""

    def split(by: str) -> list[dict[str, Any]]:
        return earnings_split(engine=engine, brand_id=brand_id, period=period, by=by)

    by_rule = {r["rule"]: r for r in split("rule")}
    assert max(r["earnings"] for r in by_rule.values()) == orders_per_brand(150), by_rule
    assert {"in_store", "online", "app"} <= {r["channel"] for r in split("channel")}
    assert set(STORES) <= {r["store"] for r in split("store")}


def _check_defaults(rep: dict[str, Any], earned: int) -> None:
    """The demo's four months of history, all issued on chain today: its points land in their
    orders' months; the purchase-based defaults have figures; cohorts leave out the members
    who only signed up; the current month is marked partial."""
    period, flows = rep["period"], rep["points"]["flows"]
    assert len(rep["basket"]["trend"]) == 4 and period["partial"]
    assert [t["partial"] for t in flows["trend"]] == [False, False, False, True]
    # every earn record's points are placed at its own time, inside the demo's four months
    assert flows["issued_by_event_time"] == earned
    assert all(t["issued_by_event_time"] > 0 for t in flows["trend"])
    assert flows["trend"][-1]["issued"] < flows["issued"] / 2  # not all in the current month
    churn, clv = rep["churn"], rep["clv"]
    # 97 days of history and a 90-day window: only the first week's customers can lapse yet
    assert 0 <= churn["churned"] <= churn["at_risk"] == churn["new_customers"]
    assert (churn["churn_rate"] is None) == (churn["at_risk"] == 0) == (churn["note"] is not None)
    assert all(m["active_at_start"] > 0 for m in churn["monthly"][1:])  # month on month
    assert clv["lifetime"]["customers"] >= clv["in_period"]["customers"] > 0
    cohorts, activity = rep["retention"]["cohorts"], rep["retention"]["activity_cohorts"]
    assert sum(c["size"] for c in cohorts) < sum(c["size"] for c in activity)
    assert sum(c["never_bought"] for c in activity) > 0
    for c in cohorts:
        assert c["size"] == 0 or c["retention"][0] == 1.0
