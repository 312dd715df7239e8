"""The rules kept in memory per process (`programme.rules_cache`): the rules version moves with
every change that earning evaluates (and not with a campaign's spending), a claim priced with
rules that changed since is refused inside its own transaction, and a rule changed by another
process is evaluated from this process's very next earning (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, text

from loyalty_ledger.programme import rules_cache
from loyalty_ledger.programme.accept import StaleRules
from loyalty_ledger.programme.claims import claim
from loyalty_ledger.programme.rules import tier_job
from loyalty_ledger.programme.rules.campaigns import put_campaign
from loyalty_ledger.programme.rules.live import SPEND
from loyalty_ledger.programme.rules.store import put_rule
from loyalty_ledger.programme.rules.tiers import put_tier_rule

from .conftest import PASS, RATE, at, member, order, plan, setup_brand

ROOT = Path(__file__).resolve().parents[2]
BONUS = {"trigger": "purchase", "effect": {"type": "fixed", "points": 7}}


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return rules_cache.version(conn)


def test_version_moves_with_each_rules_change_not_with_spending(engine: Engine) -> None:
    setup_brand(engine)
    steps = [
        lambda: put_rule(engine=engine, brand_id="b", rule_id="x", spec=BONUS),
        lambda: put_campaign(
            engine=engine, brand_id="b", campaign_id="c", starts_at=0, ends_at=10, budget=100
        ),
        lambda: put_campaign(
            engine=engine, brand_id="b", campaign_id="c", starts_at=0, ends_at=20, budget=100
        ),
        lambda: put_tier_rule(
            engine=engine,
            brand_id="b",
            metric="points",
            window_days=30,
            grace_days=0,
            thresholds=[{"tier": 1, "min": 10}],
        ),
        lambda: setup_brand(engine, bonuses={"review": 3}),
    ]
    for step in steps:
        before = _version(engine)
        step()
        assert _version(engine) > before
    before = _version(engine)
    with engine.begin() as conn:  # what every earning of a campaign rule does
        assert conn.execute(SPEND, {"pts": 5, "b": "b", "c": "c"}).rowcount == 1
    assert _version(engine) == before


def _other_process(url: str, code: str) -> None:
    """`code` run by another Python process on the same database (engine `e`)."""
    prog = (
        "from loyalty_ledger.store import make_engine\n"
        f"e = make_engine({url!r})\n{code}\ne.dispose()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", prog], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def _earn(engine: Engine, values: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One earning the way the API prices it: with this process's snapshot of the rules."""
    program = SimpleNamespace(brand_id="b", pass_=PASS)

    def attempt(p: Any, snap: rules_cache.Snapshot, last: bool) -> Any:
        rules, version = (None, None) if last else (snap.rules, snap.version)
        return claim(engine, {"brand_id": "b", **values}, plan=p, rules=rules, version=version)

    got = rules_cache.priced(engine, program, attempt)  # type: ignore[arg-type]
    assert got is not None
    return got[0]


def test_rule_changed_by_another_process_is_used_by_the_next_earning(engine: Engine) -> None:
    setup_brand(engine)
    m = member()
    _, first = _earn(engine, order(m, "o1", 20_000, at(2)))
    assert first["points"] == 20_000 // RATE
    snap = rules_cache.last(engine, "b")
    assert snap is not None  # this process now prices from memory
    spec = repr(BONUS)
    _other_process(
        str(engine.url.render_as_string(hide_password=False)),
        "from loyalty_ledger.programme.rules.store import put_rule\n"
        f"put_rule(engine=e, brand_id='b', rule_id='bonus7', spec={spec})",
    )
    # The snapshot held is stale: a claim priced with it is refused in its own transaction.
    with pytest.raises(StaleRules):
        claim(
            engine,
            {"brand_id": "b", **order(m, "stale", 20_000, at(3))},
            plan=plan(),
            rules=snap.rules,
            version=snap.version,
        )
    rid, second = _earn(engine, order(m, "o2", 20_000, at(3)))
    assert second["points"] == 20_000 // RATE + 7
    with engine.connect() as conn:
        paid = conn.execute(text("SELECT rule_id FROM earn_line WHERE earn_id = :i"), {"i": rid})
        assert sorted(paid.scalars()) == ["base-rate", "bonus7"]
        stale = conn.execute(text("SELECT count(*) FROM earn_record WHERE order_id = 'stale'"))
        assert stale.scalar() == 0  # rolled back whole
    again = rules_cache.last(engine, "b")
    assert again is not None and again.version > snap.version


def test_a_tier_rule_counts_from_the_next_earning(engine: Engine) -> None:
    """`tier_job.has_tier_rule` answers from the rules this process holds, read again by an
    earning that found them changed (it used to trust its own answer for 5 seconds)."""
    setup_brand(engine)
    _earn(engine, order(member(), "t1", 20_000, at(2)))
    assert not tier_job.has_tier_rule(engine, "b")
    put_tier_rule(engine=engine, brand_id="b", metric="points", window_days=30, grace_days=0,
                  thresholds=[{"tier": 1, "min": 10}])  # fmt: skip
    assert tier_job.has_tier_rule(engine, "b", fresh=True)
    _earn(engine, order(member(), "t2", 20_000, at(2)))  # its claim finds the rules changed
    assert tier_job.has_tier_rule(engine, "b")
