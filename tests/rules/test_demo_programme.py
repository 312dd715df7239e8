"""The demo's programme (welcome, second order, launch week, referrals, birthday, tiers) is
valid on both databases and pays what it says through the live claim path."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import Engine

from loyalty_ledger.demo.programme import set_up_programme
from loyalty_ledger.programme.rules import campaigns, daily, store, tiers

from .conftest import earn_order, member, order, setup_brand


def test_demo_programme(engine: Engine) -> None:
    setup_brand(engine)
    now = int(time.time())
    set_up_programme(engine=engine, brand_id="b", tier_count=3, now=now)
    ids = {r["rule_id"] for r in store.list_rules(engine=engine, brand_id="b")}
    assert {"welcome", "second-order", "launch-double", "referral-referrer", "birthday"} <= ids
    assert daily.has_birthday_rule(engine, "b")  # the daily run's birthday gift
    camp = campaigns.campaign_report(engine=engine, brand_id="b", campaign_id="launch-week")
    assert camp["starts_at"] <= now < camp["ends_at"] and camp["budget"] == 50_000
    policy = tiers.get_tier_rule(engine=engine, brand_id="b")
    assert policy is not None and policy.thresholds == ((0, 0), (1, 1000), (2, 4000))
    m = member()
    when = datetime.fromtimestamp(now - 60, UTC)
    first = earn_order(engine, "b", order(m, "d1", 20_000, when))[0][1]["points"]
    second = earn_order(engine, "b", order(m, "d2", 20_000, when))[0][1]["points"]
    assert (first, second) == (40, 90)  # 20 base + 20 launch week; then + 50 second order
