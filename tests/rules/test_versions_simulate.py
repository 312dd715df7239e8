"""Versioned and explainable rules, simulate == live, referrals and the default rules, on
SQLite and PostgreSQL."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Engine

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme import earn
from loyalty_ledger.programme.rules import campaigns, referrals, store
from loyalty_ledger.programme.rules.errors import ReferralRefused
from loyalty_ledger.programme.rules.explain import explain_earning
from loyalty_ledger.programme.rules.simulate import simulate

from .conftest import PASS, RATE, at, earn_order, member, order, setup_brand

START, END = int(at(1, 0).timestamp()), int(at(30, 0).timestamp())
FIXED = {"trigger": "purchase", "effect": {"type": "fixed", "points": 10}}


def test_edit_makes_a_version_and_past_earnings_keep_theirs(engine: Engine) -> None:
    setup_brand(engine)
    campaigns.put_campaign(
        engine=engine, brand_id="b", campaign_id="wk", starts_at=START, ends_at=END
    )
    v1 = store.put_rule(
        engine=engine, brand_id="b", rule_id="promo", spec={**FIXED, "campaign_id": "wk"}
    )
    m = member()
    first = earn_order(engine, "b", order(m, "x1", 3000, at(2)))[0]
    spec2 = {**FIXED, "campaign_id": "wk", "effect": {"type": "fixed", "points": 25}}
    v2 = store.put_rule(engine=engine, brand_id="b", rule_id="promo", spec=spec2)
    assert (v1["version"], v2["version"]) == (1, 2)
    second = earn_order(engine, "b", order(m, "x2", 3000, at(3)))[0]
    old = explain_earning(engine=engine, brand_id="b", earn_id=first[0])
    new = explain_earning(engine=engine, brand_id="b", earn_id=second[0])
    assert old["earning"]["points"] == 13 and new["earning"]["points"] == 28
    assert {(x["rule_id"], x["version"], x["points"]) for x in old["lines"]} == {
        ("base-rate", 1, 3),
        ("promo", 1, 10),
    }
    assert ("promo", 2, 25) in {(x["rule_id"], x["version"], x["points"]) for x in new["lines"]}
    assert old["lines"][1]["effect"] == {"type": "fixed", "points": 10}  # the version that paid
    assert old["explanation"] == "the points are the sum of the lines"
    versions = store.list_rules(engine=engine, brand_id="b", versions_of="promo")
    assert [v["version"] for v in versions] == [1, 2]
    off = store.set_active(engine=engine, brand_id="b", rule_id="promo", active=False)
    assert off["version"] == 3 and off["active"] is False
    assert earn_order(engine, "b", order(m, "x3", 3000, at(4)))[0][1]["points"] == 3


def test_default_rules_follow_the_earn_rule(engine: Engine) -> None:
    setup_brand(engine, bonuses={"review": 5})
    rules = {r["rule_id"]: r for r in store.list_rules(engine=engine, brand_id="b")}
    assert rules["base-rate"]["effect"] == {"type": "per_amount", "amount_per_point": RATE}
    assert rules["bonus-review"]["trigger"] == "action:review"
    earn.set_rule(engine=engine, brand_id="b", currency="VND", amount_per_point=500, bonuses={})
    rules = {r["rule_id"]: r for r in store.list_rules(engine=engine, brand_id="b")}
    assert rules["base-rate"]["version"] == 2 and rules["bonus-review"]["active"] is False
    earn.set_rule(engine=engine, brand_id="b", currency="VND", amount_per_point=500, bonuses={})
    assert store.get_rule(engine=engine, brand_id="b", rule_id="base-rate")["version"] == 2


RULES = [
    (
        "second",
        {
            "trigger": "purchase",
            "conditions": {"nth_order": 2},
            "effect": {"type": "fixed", "points": 30},
        },
    ),
    (
        "big",
        {
            "trigger": "purchase",
            "conditions": {"min_amount": 40_000},
            "effect": {"type": "fixed", "points": 20},
            "stacking": "best_only",
        },
    ),
    (
        "app",
        {
            "trigger": "purchase",
            "conditions": {"channels": ["app"]},
            "effect": {"type": "fixed", "points": 25},
            "stacking": "best_only",
        },
    ),
    (
        "double",
        {
            "trigger": "purchase",
            "conditions": {"days": ["sat", "sun"]},
            "effect": {"type": "multiplier", "percent": 200},
            "campaign_id": "launch",
        },
    ),
    (
        "coffee",
        {
            "trigger": "purchase",
            "conditions": {"tags_any": ["coffee"]},
            "effect": {"type": "fixed", "points": 4},
            "limit": {"count": 2, "period": "week"},
        },
    ),
    (
        "store9",
        {
            "trigger": "purchase",
            "conditions": {"store_ids": ["s9"]},
            "effect": {"type": "fixed", "points": 100},
            "stacking": "exclusive",
            "priority": 9,
        },
    ),
]


def test_simulate_equals_live_for_the_same_orders(engine: Engine) -> None:
    setup_brand(engine)
    campaigns.put_campaign(
        engine=engine, brand_id="b", campaign_id="launch", starts_at=START, ends_at=END, budget=400
    )
    for rid, spec in RULES:
        store.put_rule(engine=engine, brand_id="b", rule_id=rid, spec=spec)
    rnd = random.Random(15)
    members = [member() for _ in range(8)]
    live: dict[str, int] = {}
    for i in range(80):
        extra = {
            "channel": rnd.choice([None, "app", "online", "in_store"]),
            "store_id": rnd.choice([None, "s1", "s9"]) if rnd.random() < 0.3 else None,
            "tags": rnd.choice([None, ["coffee"], ["tea", "coffee"], ["tea"]]),
        }
        v = order(
            rnd.choice(members),
            f"o{i}",
            rnd.randrange(0, 80_000),
            at(1 + i // 3, 1 + i % 20),
            **extra,
        )
        live[f"o{i}"] = earn_order(engine, "b", v)[0][1]["points"]
    sim = simulate(
        engine=engine,
        brand_id="b",
        pass_contract=PASS,
        base_rate=RATE,
        start=START,
        end=END,
        with_orders=True,
    )
    assert {o["order_id"]: o["points"] for o in sim["per_order"]} == live
    assert sim["points"] == sum(live.values()) and sim["orders"] == 80
    assert sim["members_reached"] == len({m for m in members})  # all bought above 1,000
    report = campaigns.campaign_report(engine=engine, brand_id="b", campaign_id="launch")
    assert sim["per_rule"].get("double", {"points": 0})["points"] == report["cost"] <= 400
    # a draft (not saved) changes the simulation, not the rules
    draft = {
        "rule_id": "second",
        "trigger": "purchase",
        "conditions": {"nth_order": 2},
        "effect": {"type": "fixed", "points": 1000},
    }
    sim2 = simulate(
        engine=engine,
        brand_id="b",
        pass_contract=PASS,
        base_rate=RATE,
        start=START,
        end=END,
        drafts=[draft],
    )
    assert sim2["per_rule"]["second"]["points"] == 1000 * sim["per_rule"]["second"]["lines"]
    assert store.get_rule(engine=engine, brand_id="b", rule_id="second")["effect"]["points"] == 30


def test_referrals_link_reward_and_refuse(engine: Engine) -> None:
    setup_brand(engine)
    store.put_rule(
        engine=engine,
        brand_id="b",
        rule_id="ref-referrer",
        spec={
            "trigger": "purchase",
            "conditions": {"referral_converted": True, "min_amount": 10_000},
            "effect": {"type": "fixed", "points": 200, "beneficiary": "referrer"},
        },
    )
    store.put_rule(
        engine=engine,
        brand_id="b",
        rule_id="ref-friend",
        spec={
            "trigger": "purchase",
            "conditions": {"referral_converted": True},
            "effect": {"type": "fixed", "points": 50},
        },
    )
    alice, bob, carol = member(), member(), member()
    code_a = referrals.referral_code(engine=engine, brand_id="b", member=alice)
    assert referrals.referral_code(engine=engine, brand_id="b", member=alice) == code_a
    with pytest.raises(ReferralRefused, match="themselves"):
        referrals.set_profile(engine=engine, brand_id="b", member=alice, referral=code_a)
    with pytest.raises(ReferralRefused, match="no referral code"):
        referrals.set_profile(engine=engine, brand_id="b", member=bob, referral="NOPE1234")
    referrals.set_profile(engine=engine, brand_id="b", member=bob, referral=code_a.lower())
    with pytest.raises(ReferralRefused, match="referred already"):
        referrals.set_profile(engine=engine, brand_id="b", member=bob, referral=code_a)
    code_b = referrals.referral_code(engine=engine, brand_id="b", member=bob)
    with pytest.raises(ReferralRefused, match="loop"):
        referrals.set_profile(engine=engine, brand_id="b", member=alice, referral=code_b)
    with pytest.raises(InvalidInput):
        referrals.set_profile(engine=engine, brand_id="b", member=carol, birth_month=13)
    earn_order(engine, "b", order(carol, "c1", 1000, at(2)))
    with pytest.raises(ReferralRefused, match="ordered already"):
        referrals.set_profile(engine=engine, brand_id="b", member=carol, referral=code_a)
    # bob's first order converts the referral: 50 to bob, 200 to alice (her own record)
    got = earn_order(engine, "b", order(bob, "b1", 12_000, at(3)))
    assert [(v["member"], v["reason"], v["points"]) for _, v in got] == [
        (bob, "purchase", 62),
        (alice, "referral", 200),
    ]
    assert (
        explain_earning(engine=engine, brand_id="b", earn_id=got[1][0])["lines"][0]["rule_id"]
        == "ref-referrer"
    )
    assert len(earn_order(engine, "b", order(bob, "b2", 12_000, at(4)))) == 1  # second: no reward
    # a first order below 10,000 rewards the friend only
    dave = member()
    referrals.set_profile(engine=engine, brand_id="b", member=dave, referral=code_b)
    got = earn_order(engine, "b", order(dave, "d1", 5_000, at(5)))
    assert [(v["member"], v["points"]) for _, v in got] == [(dave, 55)]


def test_birthday_rule(engine: Engine) -> None:
    setup_brand(engine)
    store.put_rule(
        engine=engine,
        brand_id="b",
        rule_id="birthday",
        spec={
            "trigger": "purchase",
            "conditions": {"birthday_month": True},
            "effect": {"type": "fixed", "points": 99},
            "limit": {"count": 1, "period": "year"},
        },
    )
    m = member()
    referrals.set_profile(engine=engine, brand_id="b", member=m, birth_month=11)
    assert earn_order(engine, "b", order(m, "n1", 0, at(9)))[0][1]["points"] == 99
    assert earn_order(engine, "b", order(m, "n2", 0, at(10)))[0][1]["points"] == 0  # once a year
    n = member()
    referrals.set_profile(engine=engine, brand_id="b", member=n, birth_month=5)
    assert earn_order(engine, "b", order(n, "n3", 0, at(9)))[0][1]["points"] == 0
