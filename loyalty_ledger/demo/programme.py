"""The demo brands' earning programme: a welcome bonus, a second-order bonus, a launch-week
campaign (double points, with a budget), a referral programme (both sides rewarded when the
friend's first order converts), a birthday bonus on an order and a birthday gift without one
(the daily run's `action:birthday`) and tier rules — set through the same functions as the API."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine

from loyalty_ledger.programme.rules import campaigns, store, tiers

DAY = 86_400


def demo_rules(launch_start: int) -> list[tuple[str, dict[str, Any]]]:
    fixed = lambda n: {"type": "fixed", "points": n}  # noqa: E731
    return [
        (
            "welcome",
            {
                "name": "Welcome bonus",
                "trigger": "action:signup",
                "effect": fixed(200),
                "stacking": "exclusive",
                "priority": 10,
            },
        ),
        (
            "second-order",
            {
                "name": "Second order bonus",
                "trigger": "purchase",
                "conditions": {"nth_order": 2},
                "effect": fixed(50),
            },
        ),
        (
            "launch-double",
            {
                "name": "Launch week: double points",
                "trigger": "purchase",
                "effect": {"type": "multiplier", "percent": 200},
                "campaign_id": "launch-week",
            },
        ),
        (
            "referral-referrer",
            {
                "name": "Referral: the referrer",
                "trigger": "purchase",
                "conditions": {"referral_converted": True, "min_amount": 100_000},
                "effect": {"type": "fixed", "points": 300, "beneficiary": "referrer"},
            },
        ),
        (
            "referral-friend",
            {
                "name": "Referral: the new member",
                "trigger": "purchase",
                "conditions": {"referral_converted": True},
                "effect": fixed(100),
            },
        ),
        (
            "birthday",
            {
                "name": "Birthday month",
                "trigger": "purchase",
                "conditions": {"birthday_month": True},
                "effect": fixed(150),
                "limit": {"count": 1, "period": "year"},
            },
        ),
        (
            "birthday-gift",
            {
                "name": "Birthday gift (no purchase needed)",
                "trigger": "action:birthday",
                "conditions": {"birthday_month": True},
                "effect": fixed(100),
                "limit": {"count": 1, "period": "year"},
            },
        ),
    ]


def set_up_programme(
    *, engine: Engine, brand_id: str, tier_count: int, now: int | None = None
) -> None:
    """The demo's rules, launch-week campaign (this week, 50,000 points) and tier rule."""
    now = int(time.time()) if now is None else now
    days = now // DAY
    start = (days - (days + 3) % 7) * DAY  # this week's Monday, 00:00 UTC (day 0: a Thursday)
    campaigns.put_campaign(
        engine=engine,
        brand_id=brand_id,
        campaign_id="launch-week",
        name="Launch week",
        starts_at=start,
        ends_at=start + 7 * DAY,
        budget=50_000,
    )
    for rule_id, spec in demo_rules(start):
        store.put_rule(engine=engine, brand_id=brand_id, rule_id=rule_id, spec=spec)
    steps = [(t, 1_000 * 4 ** (t - 1)) for t in range(1, tier_count)]  # 1,000 / 4,000 / …
    tiers.put_tier_rule(
        engine=engine,
        brand_id=brand_id,
        metric="points",
        window_days=365,
        grace_days=30,
        thresholds=[{"tier": 0, "min": 0}, *({"tier": t, "min": m} for t, m in steps)],
        tier_count=tier_count,
    )
