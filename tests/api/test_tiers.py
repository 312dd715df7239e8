"""The tier job against a real chain, on SQLite and PostgreSQL: upgrades, a downgrade only
after the grace period, the job killed half-way and re-run (no change made twice), passes
moved on chain through the outbox, and tier migration per period."""

from __future__ import annotations

import functools
import time
import uuid

import pytest
from eth_account import Account

from loyalty_ledger import ledger
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.submitter import Submitter
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.ledger import passes
from loyalty_ledger.programme.claims import claim
from loyalty_ledger.programme.rules import tier_job, tiers
from loyalty_ledger.store import outbox as sql
from loyalty_ledger.store.lease import Lease

from .conftest import Env, onboard_brand

pytestmark = pytest.mark.chain
DAY = 86_400


def _drain(env: Env, sender: object, timeout: float = 60) -> None:
    """Until the key's intents are settled: sent by this test while it holds the key's lease,
    else by the API's own submitter (the lease holder; two senders would race)."""
    lease = Lease(str(env.state.engine.url), f"submitter:{sender.address}")  # type: ignore[attr-defined]
    sub = None
    if lease.try_acquire():
        sub = Submitter(sender, sql.SqlOutbox(env.state.engine, sender.address), batch_ms=0)  # type: ignore[attr-defined]
        sub.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sub is not None:
                sub.step()
            c = sql.counts(env.state.engine, sender.address)  # type: ignore[attr-defined]
            if not c.get("queued") and not c.get("sent"):
                return
            time.sleep(0.05)
    finally:
        lease.release()
    raise AssertionError(f"not drained: {sql.counts(env.state.engine)}")


def _points(env: Env, brand: str, member: str, points: int, at: int) -> None:
    """An earning of `points` at `at` in SQL (what the tier metric reads)."""
    key = f"action:visit:{uuid.uuid4().hex}"
    values = {"brand_id": brand, "idem_key": key, "member": member, "reason": "visit"}
    values |= {"points": points, "order_id": None, "action_id": key, "ordered_at": at}
    assert claim(env.state.engine, values) is not None


def test_tier_job_up_down_grace_kill_and_rerun(
    any_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = any_env
    bid = "t" + uuid.uuid4().hex[:8]
    onboard_brand(env, bid, tiers=["Bronze", "Silver", "Gold"])
    program = env.deployment.program(bid)
    sender = env.state.brand_sender(bid)
    a, b, c, d = (Account.create().address for _ in range(4))
    ledger.register_members(
        sender=env.state.sender("operator"), deployment=env.deployment, members=[a, b, c, d]
    )
    for m in (a, b, c):
        passes.issue_pass(sender=sender, program=program, member=m, tier=0)
    passes.issue_pass(sender=sender, program=program, member=d, tier=2)
    env.index()
    eng = env.state.engine
    kw = {"engine": eng, "brand_id": bid, "metric": "points", "window_days": 30, "grace_days": 10}
    rule = functools.partial(tiers.put_tier_rule, **kw)
    with pytest.raises(InvalidInput, match="no tier rule"):
        tier_job.evaluate_tiers(engine=eng, sender=sender, program=program)
    with pytest.raises(InvalidInput, match="higher minimum"):
        rule(thresholds=[{"tier": 1, "min": 500}, {"tier": 2, "min": 100}])
    rule(thresholds=[{"tier": 1, "min": 100}, {"tier": 2, "min": 500}], tier_count=3)
    now = int(time.time())
    _points(env, bid, a, 600, now - 5 * DAY)
    _points(env, bid, b, 150, now - 2 * DAY)
    _points(env, bid, c, 999, now - 40 * DAY)  # outside the 30-day window
    # the first run dies after queueing one change
    real = tier_job.enqueue_call
    calls = {"n": 0}

    def dying(*args: object, **kw: object) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tier_job, "enqueue_call", dying)
    with pytest.raises(RuntimeError):
        tier_job.evaluate_tiers(engine=eng, sender=sender, program=program, now=now)
    monkeypatch.setattr(tier_job, "enqueue_call", real)
    first = tier_job.evaluate_tiers(engine=eng, sender=sender, program=program, now=now)
    again = tier_job.evaluate_tiers(engine=eng, sender=sender, program=program, now=now + 60)
    assert (first["up"] + calls["n"] - 1, first["down"]) == (2, 0)  # one was done before the kill
    assert (again["up"], again["down"], again["in_grace"]) == (0, 0, 1)  # d: in grace
    _drain(env, sender)
    pc = contracts.passes(env.w3, program)
    tier_of = lambda m: pc.functions.tierOf(m).call()  # noqa: E731
    assert [tier_of(m) for m in (a, b, c, d)] == [2, 1, 0, 2]
    # after the grace period d moves down (a and b still qualify within the window)
    later = tier_job.evaluate_tiers(engine=eng, sender=sender, program=program, now=now + 11 * DAY)
    assert (later["up"], later["down"]) == (0, 1)
    again = tier_job.evaluate_tiers(engine=eng, sender=sender, program=program, now=now + 11 * DAY)
    assert again["intents"] == []
    _drain(env, sender)
    assert [tier_of(m) for m in (a, b, c, d)] == [2, 1, 0, 0]
    with eng.connect() as conn:
        from sqlalchemy import func, select

        n = conn.execute(
            select(func.count())
            .select_from(tier_job.T_CHANGE)
            .where(tier_job.T_CHANGE.c.brand_id == bid)
        ).scalar()
    assert n == 3  # a up, b up, d down: each once
    assert tier_job.tier_migration(engine=eng, brand_id=bid, start=now - DAY, end=now + DAY) == {
        "up": 2,
        "down": 0,
        "stayed": 2,
    }
    assert tier_job.tier_migration(
        engine=eng, brand_id=bid, start=now - DAY, end=now + 12 * DAY
    ) == {"up": 2, "down": 1, "stayed": 1}
    # new activity re-evaluates just that member (the API does it after an earning)
    _points(env, bid, b, 400, int(time.time()) - 60)
    tier_job.on_activity(engine=eng, sender=sender, program=program, member=b)
    _drain(env, sender)
    assert [tier_of(m) for m in (a, b, c, d)] == [2, 2, 0, 0]
    # tier multipliers are rule conditions: the mirror's tier (a: Gold) decides
    env.index()
    pm = env.h(f"{bid}:perk_manager")
    gold = {
        "trigger": "purchase",
        "conditions": {"min_tier": 2},
        "effect": {"type": "multiplier", "percent": 300},
    }
    assert env.client.put(f"/brands/{bid}/rules/gold3x", json=gold, headers=pm).status_code == 200
    order = {"amount": 50_000, "currency": "VND", "items": 1}
    iss = env.h(f"{bid}:issuer")
    r = env.client.post(
        f"/brands/{bid}/earn/purchase", json={**order, "member": a, "order_id": "g1"}, headers=iss
    )
    assert r.json()["points"] == 15, r.text  # 5 base + 2 x 5
    r = env.client.post(
        f"/brands/{bid}/earn/purchase", json={**order, "member": c, "order_id": "g2"}, headers=iss
    )
    assert r.json()["points"] == 5
