"""Tier rules: qualify by points earned or amount spent over a rolling window; a member who
qualifies only for a lower tier keeps theirs for a grace period, then moves down.

`qualified` and `decide` are pure; the job that applies them is `tier_job`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.store.offchain import table
from loyalty_ledger.store.rules_tables import TierRule
from loyalty_ledger.store.writer_lock import sqlite_writer

T_TIER_RULE = table(TierRule)
METRICS = ("points", "amount")
DAY = 86_400


@dataclass(frozen=True)
class TierPolicy:
    metric: str
    window_days: int
    grace_days: int
    thresholds: tuple[tuple[int, int], ...]  # (tier, minimum), minimum ascending


def qualified(policy: TierPolicy, value: int) -> int:
    """The highest tier whose minimum `value` reaches (0 when none)."""
    best = 0
    for tier, minimum in policy.thresholds:
        if value >= minimum:
            best = max(best, tier)
    return best


def decide(
    policy: TierPolicy, current: int, value: int, below_since: int | None, now: int
) -> tuple[int, int | None]:
    """The member's tier after this evaluation, and the grace clock (since when they have
    qualified only for a lower tier; None when they qualify for theirs or more)."""
    q = qualified(policy, value)
    if q >= current:
        return q, None
    if below_since is None:
        return current, now
    if now - below_since >= policy.grace_days * DAY:
        return q, None
    return current, below_since


def check_policy(metric: Any, window_days: Any, grace_days: Any, thresholds: Any) -> TierPolicy:
    if metric not in METRICS:
        raise InvalidInput("metric must be points (earned) or amount (spent)")
    for v, what, hi in ((window_days, "window_days", 3660), (grace_days, "grace_days", 3660)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= hi:
            raise InvalidInput(f"{what} must be a whole number of days from 0 to {hi}")
    if window_days < 1:
        raise InvalidInput("window_days must be at least 1")
    if not isinstance(thresholds, list) or not 1 <= len(thresholds) <= 32:
        raise InvalidInput("thresholds: a list of 1 to 32 {tier, min} objects")
    pairs = []
    for t in thresholds:
        if not isinstance(t, dict) or set(t) != {"tier", "min"}:
            raise InvalidInput("each threshold is {tier, min}")
        tier, minimum = t["tier"], t["min"]
        for v, what in ((tier, "tier"), (minimum, "min")):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**62:
                raise InvalidInput(f"threshold {what} must be a whole number >= 0")
        pairs.append((tier, minimum))
    pairs.sort(key=lambda p: p[1])
    if [p[0] for p in pairs] != sorted({p[0] for p in pairs}):
        raise InvalidInput("a higher tier needs a higher minimum (and each tier appears once)")
    return TierPolicy(metric, window_days, grace_days, tuple(pairs))


def put_tier_rule(
    *,
    engine: Engine,
    brand_id: str,
    metric: str,
    window_days: int,
    grace_days: int,
    thresholds: list[dict[str, int]],
    tier_count: int | None = None,
) -> dict[str, Any]:
    """Set the brand's tier rule (`tier_count`: the pass contract's tiers, when known)."""
    policy = check_policy(metric, window_days, grace_days, thresholds)
    if tier_count is not None and any(t >= tier_count for t, _ in policy.thresholds):
        raise InvalidInput(f"the brand's pass has tiers 0 to {tier_count - 1}")
    values = {
        "metric": metric,
        "window_days": window_days,
        "grace_days": grace_days,
        "thresholds": [{"tier": t, "min": m} for t, m in policy.thresholds],
        "updated_at": int(time.time()),
    }
    with sqlite_writer(engine), engine.begin() as conn:
        res = conn.execute(
            update(T_TIER_RULE).where(T_TIER_RULE.c.brand_id == brand_id).values(**values)
        )
        if res.rowcount == 0:
            conn.execute(insert(T_TIER_RULE).values(brand_id=brand_id, **values))
    return {"brand_id": brand_id, **values}


def get_tier_rule(*, engine: Engine, brand_id: str) -> TierPolicy | None:
    with engine.connect() as conn:
        row = (
            conn.execute(select(T_TIER_RULE).where(T_TIER_RULE.c.brand_id == brand_id))
            .mappings()
            .first()
        )
    if row is None:
        return None
    pairs = tuple((int(t["tier"]), int(t["min"])) for t in row["thresholds"])
    return TierPolicy(row["metric"], int(row["window_days"]), int(row["grace_days"]), pairs)


def policy_json(policy: TierPolicy) -> dict[str, Any]:
    return {
        "metric": policy.metric,
        "window_days": policy.window_days,
        "grace_days": policy.grace_days,
        "thresholds": [{"tier": t, "min": m} for t, m in policy.thresholds],
    }
