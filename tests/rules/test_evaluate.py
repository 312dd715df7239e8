"""Rule evaluation, pure: each condition and effect, the stacking modes, gates (limits and
budgets), rule checking, and a fuzzed comparison with a small reference model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme.rules.evaluate import Outcome, evaluate, period_key
from loyalty_ledger.programme.rules.model import Event, Rule, parse_rule

MON_NOON = int(datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp())  # a Monday, December
BASE = 1000  # amount per point of the base rate


def rule(rid: str = "r", **spec: Any) -> Rule:
    spec.setdefault("trigger", "purchase")
    spec.setdefault("effect", {"type": "fixed", "points": 10})
    return parse_rule(rid, 1, spec)


def ev(**kw: Any) -> Event:
    base: dict[str, Any] = {"trigger": "purchase", "at": MON_NOON, "amount": 50_000, "order_n": 1}
    return Event(**(base | kw))


def pays(r: Rule, e: Event) -> int:
    return evaluate([r], e, base_rate=BASE).points()


@pytest.mark.parametrize(
    ("cond", "yes", "no"),
    [
        ({"min_amount": 50_000}, {"amount": 50_000}, {"amount": 49_999}),
        ({"nth_order": 2}, {"order_n": 2}, {"order_n": 3}),
        ({"first_order": True}, {"order_n": 1}, {"order_n": 2}),
        ({"first_order": False}, {"order_n": 2}, {"order_n": 1}),
        ({"channels": ["app", "online"]}, {"channel": "app"}, {"channel": "in_store"}),
        ({"channels": ["app"]}, {"channel": "app"}, {"channel": None}),
        ({"store_ids": ["s1"]}, {"store_id": "s1"}, {"store_id": "s2"}),
        ({"tags_any": ["coffee"]}, {"tags": frozenset({"coffee", "x"})}, {"tags": frozenset()}),
        ({"starts_at": MON_NOON}, {"at": MON_NOON}, {"at": MON_NOON - 1}),
        ({"ends_at": MON_NOON + 1}, {"at": MON_NOON}, {"at": MON_NOON + 1}),
        ({"hours": [12, 13]}, {"at": MON_NOON + 3599}, {"at": MON_NOON + 3600}),
        ({"days": ["mon"]}, {"at": MON_NOON}, {"at": MON_NOON + 86_400}),
        ({"days": ["sat", "sun"]}, {"at": MON_NOON - 86_400}, {"at": MON_NOON}),
        ({"tiers": [1, 2]}, {"tier": 2}, {"tier": 0}),
        ({"tiers": [0]}, {"tier": 0}, {"tier": None}),
        ({"min_tier": 1}, {"tier": 3}, {"tier": None}),
        ({"birthday_month": True}, {"birth_month": 12}, {"birth_month": 11}),
        ({"referral_converted": True}, {"referred": True}, {"referred": False}),
        (
            {"referral_converted": True},
            {"referred": True, "order_n": 1},
            {"referred": True, "order_n": 2},
        ),
    ],
)
def test_each_condition(cond: dict[str, Any], yes: dict[str, Any], no: dict[str, Any]) -> None:
    r = rule(conditions=cond)
    assert pays(r, ev(**yes)) == 10
    assert pays(r, ev(**no)) == 0


def test_conditions_combine_with_and() -> None:
    r = rule(conditions={"min_amount": 10_000, "channels": ["app"], "days": ["mon"]})
    assert pays(r, ev(channel="app")) == 10
    assert pays(r, ev(channel="app", amount=9_999)) == 0
    assert pays(r, ev(channel="online")) == 0


def test_trigger_must_match() -> None:
    share = rule(trigger="action:social_share", effect={"type": "fixed", "points": 3})
    assert pays(share, ev(trigger="action:social_share", amount=0)) == 3
    assert pays(share, ev()) == 0
    assert pays(rule(), ev(trigger="action:social_share")) == 0


def test_each_effect() -> None:
    assert pays(rule(effect={"type": "fixed", "points": 7}), ev()) == 7
    per = rule(effect={"type": "per_amount", "amount_per_point": 300})
    assert pays(per, ev(amount=1_000)) == 3  # floor
    assert pays(per, ev(amount=299)) == 0
    double = rule(effect={"type": "multiplier", "percent": 200})
    assert pays(double, ev(amount=50_000)) == 50  # +1x the base rate's 50
    half = rule(effect={"type": "multiplier", "percent": 150})
    assert pays(half, ev(amount=3_000)) == 1  # base 3, +50% floored
    perk = evaluate([rule(effect={"type": "perk", "perk_id": 4})], ev(), base_rate=BASE)
    assert [(x.perk_id, x.points) for x in perk.lines] == [(4, 0)]


def test_campaign_window() -> None:
    r = Rule("c", 1, "purchase", {"type": "fixed", "points": 5}, window=(MON_NOON, MON_NOON + 10))
    assert pays(r, ev(at=MON_NOON + 9)) == 5
    assert pays(r, ev(at=MON_NOON + 10)) == 0


def three(stacking: str) -> list[Rule]:
    return [
        rule("a", effect={"type": "fixed", "points": 10}, priority=5),
        rule("b", effect={"type": "fixed", "points": 30}, priority=1, stacking=stacking),
        rule("c", effect={"type": "fixed", "points": 20}, priority=3, stacking=stacking),
    ]


def test_stacking_modes() -> None:
    got = evaluate(three("stack"), ev(), base_rate=BASE)
    assert [x.rule_id for x in got.lines] == ["a", "c", "b"] and got.points() == 60
    best = evaluate(three("best_only"), ev(), base_rate=BASE)
    assert [x.rule_id for x in best.lines] == ["a", "b"] and best.points() == 40
    excl = evaluate(three("exclusive"), ev(), base_rate=BASE)
    assert [x.rule_id for x in excl.lines] == ["c"] and excl.points() == 20  # highest priority


def test_gate_skips_and_falls_back() -> None:
    def gate(r: Rule, pts: int) -> str | None:
        return "budget spent" if r.rule_id in ("c", "b") else None

    excl = evaluate(three("exclusive"), ev(), base_rate=BASE, gate=gate)
    assert [x.rule_id for x in excl.lines] == ["a"]  # both exclusive rules gated out
    assert ("c", "budget spent") in excl.skipped
    best = evaluate(
        three("best_only"),
        ev(),
        base_rate=BASE,
        gate=lambda r, p: None if r.rule_id != "b" else "x",
    )
    assert [x.rule_id for x in best.lines] == ["a", "c"]  # the next best


def test_zero_point_rules_are_no_line_and_use_no_gate() -> None:
    calls: list[str] = []
    r = rule(effect={"type": "per_amount", "amount_per_point": 10**9})
    out = evaluate([r], ev(), base_rate=BASE, gate=lambda r, p: calls.append(r.rule_id))  # type: ignore[func-returns-value]
    assert out.lines == [] and calls == []


def test_period_keys() -> None:
    assert period_key("day", MON_NOON) == "2026-12-07"
    assert period_key("week", MON_NOON) == "2026-W50"
    assert period_key("month", MON_NOON) == "2026-12"
    assert period_key("year", MON_NOON) == "2026"
    assert period_key("ever", MON_NOON) == "all"


@pytest.mark.parametrize(
    "spec",
    [
        {"trigger": "sale", "effect": {"type": "fixed", "points": 1}},
        {"trigger": "action:Bad Name", "effect": {"type": "fixed", "points": 1}},
        {"trigger": "purchase", "effect": {"type": "fixed", "points": -1}},
        {"trigger": "purchase", "effect": {"type": "multiplier", "percent": 50}},
        {"trigger": "purchase", "effect": {"type": "bonus"}},
        {"trigger": "purchase", "effect": {"type": "fixed", "points": 1, "x": 1}},
        {"trigger": "purchase", "effect": {"type": "fixed", "points": 1}, "stacking": "max"},
        {
            "trigger": "purchase",
            "effect": {"type": "fixed", "points": 1},
            "conditions": {"colour": 1},
        },
        {
            "trigger": "purchase",
            "effect": {"type": "fixed", "points": 1},
            "conditions": {"channels": ["fax"]},
        },
        {
            "trigger": "purchase",
            "effect": {"type": "fixed", "points": 1},
            "conditions": {"hours": [3]},
        },
        {
            "trigger": "purchase",
            "effect": {"type": "fixed", "points": 1},
            "limit": {"count": 0, "period": "day"},
        },
        {
            "trigger": "purchase",
            "effect": {"type": "fixed", "points": 1},
            "limit": {"count": 1, "period": "fortnight"},
        },
        {"trigger": "purchase", "effect": {"type": "fixed", "points": True}},
    ],
)
def test_bad_rules_are_refused(spec: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        parse_rule("r", 1, spec)


# ---- fuzz: evaluate() against a small reference model ----------------------------------


def reference(rules: list[Rule], e: Event, budget_left: dict[str, int]) -> int:
    """Total points by the stated semantics, written the simple way."""

    def ok(r: Rule) -> bool:
        c = r.conditions
        return (
            r.trigger == e.trigger
            and e.amount >= c.get("min_amount", 0)
            and ("channels" not in c or e.channel in c["channels"])
            and ("first_order" not in c or (e.order_n == 1) == c["first_order"])
        )

    def points(r: Rule) -> int:
        f = r.effect
        if f["type"] == "fixed":
            return int(f["points"])
        if f["type"] == "per_amount":
            return e.amount // f["amount_per_point"]
        return (e.amount // BASE) * (f["percent"] - 100) // 100

    live = [(r, points(r)) for r in rules if ok(r) and points(r) > 0]
    left = dict(budget_left)

    def take(r: Rule, p: int) -> bool:
        if r.campaign_id is None:
            return True
        if left[r.campaign_id] < p:
            return False
        left[r.campaign_id] -= p
        return True

    by_prio = sorted(live, key=lambda rp: (-rp[0].priority, rp[0].rule_id))
    for r, p in by_prio:
        if r.stacking == "exclusive" and take(r, p):
            return p
    total = 0
    for r, p in sorted(
        [rp for rp in live if rp[0].stacking == "best_only"],
        key=lambda rp: (-rp[1], -rp[0].priority, rp[0].rule_id),
    ):
        if take(r, p):
            total += p
            break
    return total + sum(p for r, p in by_prio if r.stacking == "stack" and take(r, p))


effects = st.one_of(
    st.builds(lambda n: {"type": "fixed", "points": n}, st.integers(0, 50)),
    st.builds(lambda n: {"type": "per_amount", "amount_per_point": n}, st.integers(1, 5000)),
    st.builds(lambda n: {"type": "multiplier", "percent": n}, st.integers(100, 400)),
)
conds = st.fixed_dictionaries(
    {},
    optional={
        "min_amount": st.integers(0, 20_000),
        "channels": st.lists(st.sampled_from(["in_store", "online", "app"]), min_size=1),
        "first_order": st.booleans(),
    },
)
rules_st = st.lists(
    st.tuples(
        effects,
        conds,
        st.integers(-3, 3),
        st.sampled_from(["stack", "best_only", "exclusive"]),
        st.sampled_from([None, "c1", "c2"]),
        st.sampled_from(["purchase", "action:review"]),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    rules_st,
    st.integers(0, 20_000),
    st.sampled_from([None, "in_store", "online", "app"]),
    st.integers(1, 3),
    st.sampled_from(["purchase", "action:review"]),
    st.integers(0, 60),
)
def test_fuzz_against_reference(
    specs: list[Any], amount: int, channel: str | None, n: int, trigger: str, budget: int
) -> None:
    rules = [
        parse_rule(
            f"r{i}",
            1,
            {"trigger": t, "effect": e, "conditions": c, "priority": p, "stacking": s}
            | ({"campaign_id": camp} if camp else {}),
        )
        for i, (e, c, p, s, camp, t) in enumerate(specs)
    ]
    e = ev(trigger=trigger, amount=amount, channel=channel, order_n=n)
    left = {"c1": budget, "c2": budget // 2}
    spent = dict(left)

    def gate(r: Rule, p: int) -> str | None:
        if r.campaign_id is None:
            return None
        if spent[r.campaign_id] < p:
            return "spent"
        spent[r.campaign_id] -= p
        return None

    got: Outcome = evaluate(rules, e, base_rate=BASE, gate=gate)
    assert got.points() == reference(rules, e, left)
    assert all(spent[c] >= 0 for c in spent)  # never past a budget
    assert len({x.rule_id for x in got.lines}) == len(got.lines)
