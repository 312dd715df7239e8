"""The earning-rules API on SQLite and PostgreSQL against a real chain: roles, rule versions,
explanations, channels, named actions, registration with welcome bonus and referral, campaign
budgets under concurrent requests to the served app, and simulate."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from eth_account import Account

from loyalty_ledger import auth, ledger

from .conftest import Env, onboard_brand

pytestmark = pytest.mark.chain


def _brand(env: Env) -> tuple[str, dict[str, str], dict[str, str]]:
    """A fresh brand; headers of a programme_manager key and of an issuer key."""
    bid = "r" + uuid.uuid4().hex[:8]
    onboard_brand(env, bid)
    key = auth.create_api_key(
        engine=env.state.engine, kind="brand", brand_id=bid, roles=["programme_manager"]
    )[1]
    return bid, {"X-API-Key": key}, env.h(f"{bid}:issuer")


def _members(env: Env, n: int) -> list[str]:
    accts = [Account.create().address for _ in range(n)]
    ledger.register_members(
        sender=env.state.sender("operator"), deployment=env.deployment, members=accts
    )
    return accts


def test_rules_roles_versions_and_explain(any_env: Env) -> None:
    env = any_env
    bid, pm, iss = _brand(env)
    rule = {
        "trigger": "purchase",
        "conditions": {"channels": ["app"], "min_amount": 20_000},
        "effect": {"type": "fixed", "points": 40},
        "name": "App orders over 20k",
    }
    c = env.client
    assert c.put(f"/brands/{bid}/rules/app40", json=rule, headers=iss).status_code == 403
    viewer = env.h(f"{bid}:viewer")
    assert c.put(f"/brands/{bid}/rules/app40", json=rule, headers=viewer).status_code == 403
    r = c.put(f"/brands/{bid}/rules/app40", json=rule, headers=env.h(f"{bid}:perk_manager"))
    assert r.status_code == 200 and r.json()["version"] == 1, r.text
    bad = {**rule, "conditions": {"colour": "red"}}
    r = c.put(f"/brands/{bid}/rules/app40", json=bad, headers=pm)
    assert r.status_code == 422 and "colour" in r.json()["detail"]
    [m] = _members(env, 1)
    order = {"member": m, "amount": 25_000, "currency": "VND", "items": 1, "channel": "app"}
    r = c.post(f"/brands/{bid}/earn/purchase", json={**order, "order_id": "a1"}, headers=iss)
    assert r.status_code == 200 and r.json()["points"] == 42 and r.json()["channel"] == "app"
    first = r.json()["id"]
    r = c.put(
        f"/brands/{bid}/rules/app40",
        json={**rule, "effect": {"type": "fixed", "points": 80}},
        headers=pm,
    )
    assert r.json()["version"] == 2
    r = c.post(
        f"/brands/{bid}/earn/purchase",
        json={**order, "order_id": "a2", "store_id": "s1"},
        headers=iss,
    )
    assert r.json()["points"] == 82
    old = c.get(f"/brands/{bid}/earnings/{first}", headers=viewer).json()
    assert old["earning"]["points"] == 42
    assert [(x["rule_id"], x["version"], x["points"]) for x in old["lines"]] == [
        ("app40", 1, 40),
        ("base-rate", 1, 2),
    ]
    assert "channels=['app']" in old["lines"][0]["why"]
    assert c.get(f"/brands/{bid}/earnings/999999", headers=viewer).status_code == 404
    assert len(c.get(f"/brands/{bid}/rules/app40/versions", headers=viewer).json()) == 2
    r = c.patch(f"/brands/{bid}/rules/app40", json={"active": False}, headers=pm)
    assert r.json()["version"] == 3 and r.json()["active"] is False
    r = c.post(f"/brands/{bid}/earn/purchase", json={**order, "order_id": "a3"}, headers=iss)
    assert r.json()["points"] == 2


def test_named_action_registration_and_referral(any_env: Env) -> None:
    env = any_env
    bid, pm, iss = _brand(env)
    c = env.client
    alice, bob = _members(env, 2)
    share = {"member": alice, "action": "social_share", "action_id": "post-1"}
    r = c.post(f"/brands/{bid}/earn/action", json=share, headers=iss)
    assert r.status_code == 422 and "action:social_share" in r.json()["detail"]
    rule = {
        "trigger": "action:social_share",
        "effect": {"type": "fixed", "points": 15},
        "limit": {"count": 1, "period": "day"},
    }
    assert c.put(f"/brands/{bid}/rules/share", json=rule, headers=pm).status_code == 200
    assert c.post(f"/brands/{bid}/earn/action", json=share, headers=iss).json()["points"] == 15
    again = {**share, "action_id": "post-2"}
    assert c.post(f"/brands/{bid}/earn/action", json=again, headers=iss).json()["points"] == 0
    # welcome bonus: the brand's signup rule (default 100), then a bigger one
    welcome = {
        "trigger": "action:signup",
        "effect": {"type": "fixed", "points": 300},
        "stacking": "exclusive",
        "priority": 10,
    }
    assert c.put(f"/brands/{bid}/rules/welcome", json=welcome, headers=pm).status_code == 200
    r = c.post(f"/brands/{bid}/registrations", json={"member": alice}, headers=iss)
    assert r.status_code == 200 and r.json()["points"] == 300, r.text
    assert c.post(f"/brands/{bid}/registrations", json={"member": alice}, headers=iss).json()[
        "duplicate"
    ]
    code = c.post(f"/brands/{bid}/members/{alice}/referral-code", headers=iss).json()[
        "referral_code"
    ]
    r = c.put(f"/brands/{bid}/members/{alice}/profile", json={"referral_code": code}, headers=iss)
    assert r.status_code == 422 and r.json()["error"] == "referral_refused"
    ref = {
        "trigger": "purchase",
        "conditions": {"referral_converted": True},
        "effect": {"type": "fixed", "points": 500, "beneficiary": "referrer"},
    }
    assert c.put(f"/brands/{bid}/rules/refer", json=ref, headers=pm).status_code == 200
    r = c.post(
        f"/brands/{bid}/registrations",
        json={"member": bob, "referral_code": code, "birth_month": 3},
        headers=iss,
    )
    assert r.json()["points"] == 300
    order = {"member": bob, "order_id": "b1", "amount": 5000, "currency": "VND", "items": 1}
    assert c.post(f"/brands/{bid}/earn/purchase", json=order, headers=iss).json()["points"] == 0
    # The referrer's reward is its own queued issue (the answer waited for bob's record only).
    deadline, want = time.monotonic() + 30, 15 + 300 + 500  # share, welcome, bob converted
    while (
        bal := ledger.balance_of(w3=env.w3, program=env.deployment.program(bid), member=alice)
    ) != want and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bal == want
    assert ledger.balance_of(w3=env.w3, program=env.deployment.program(bid), member=bob) == 300


def test_campaign_budget_under_concurrent_requests_and_simulate(served) -> None:  # type: ignore[no-untyped-def]
    env, base = served
    bid, pm, iss = _brand(env)
    now = int(time.time())
    camp = {
        "name": "Launch week",
        "starts_at": now - 3600,
        "ends_at": now + 7 * 86400,
        "budget": 50,
    }
    with httpx.Client(base_url=base, timeout=120, headers={"Prefer": "wait=30"}) as h:
        assert h.put(f"/brands/{bid}/campaigns/launch", json=camp, headers=pm).status_code == 200
        rule = {
            "trigger": "purchase",
            "effect": {"type": "fixed", "points": 10},
            "campaign_id": "launch",
        }
        assert h.put(f"/brands/{bid}/rules/launch10", json=rule, headers=pm).status_code == 200
        members = _members(env, 12)

        def buy(i: int) -> int:
            body = {
                "member": members[i],
                "order_id": f"c{i}",
                "amount": 3000,
                "currency": "VND",
                "items": 1,
            }
            r = h.post(f"/brands/{bid}/earn/purchase", json=body, headers=iss)
            assert r.status_code == 200, r.text
            return int(r.json()["points"])

        with ThreadPoolExecutor(6) as pool:
            paid = sorted(pool.map(buy, range(12)))
        assert paid == [0] * 7 + [10] * 5  # 5 x 10 = the budget, never more (base rate: 0)
        report = h.get(f"/brands/{bid}/campaigns/launch", headers=pm).json()
        assert (report["spent"], report["cost"], report["members_reached"]) == (50, 50, 5)
        sim = h.post(
            f"/brands/{bid}/simulate",
            json={"from": now - 3600, "to": now + 600, "with_orders": True},
            headers=pm,
        ).json()
        assert sim["points"] == sum(paid) == 50 and sim["members_reached"] == 5
        assert sim["per_rule"]["launch10"]["points"] == 50
        r = h.post(f"/brands/{bid}/simulate", json={"from": 5, "to": 1}, headers=pm)
        assert r.status_code == 422
        assert (
            h.post(f"/brands/{bid}/simulate", json={"from": 1, "to": 5}, headers=iss).status_code
            == 403
        )


def test_earnings_split_and_tier_rule_api(any_env: Env) -> None:
    env = any_env
    bid, pm, iss = _brand(env)
    c = env.client
    rule = {
        "trigger": "purchase",
        "conditions": {"store_ids": ["s1"]},
        "effect": {"type": "fixed", "points": 9},
    }
    assert c.put(f"/brands/{bid}/rules/s1", json=rule, headers=pm).status_code == 200
    [m] = _members(env, 1)
    base = {"member": m, "amount": 20_000, "currency": "VND", "items": 1}
    for i, (ch, st) in enumerate([("app", "s1"), ("app", None), ("in_store", "s1")]):
        body = {**base, "order_id": f"o{i}", "channel": ch} | ({"store_id": st} if st else {})
        assert c.post(f"/brands/{bid}/earn/purchase", json=body, headers=iss).status_code == 200
    v = env.h(f"{bid}:viewer")
    by_rule = c.get(f"/brands/{bid}/insights/earnings-split?by=rule", headers=v).json()
    assert {(r["rule"], r["points"], r["earnings"]) for r in by_rule} == {
        ("base-rate", 6, 3),
        ("s1", 18, 2),
    }
    by_channel = c.get(f"/brands/{bid}/insights/earnings-split?by=channel", headers=v).json()
    assert [(r["channel"], r["points"]) for r in by_channel] == [("app", 13), ("in_store", 11)]
    by_store = c.get(f"/brands/{bid}/insights/earnings-split?by=store", headers=v).json()
    assert {(r["store"], r["points"]) for r in by_store} == {(None, 2), ("s1", 22)}
    assert c.get(f"/brands/{bid}/insights/earnings-split?by=colour", headers=v).status_code == 422
    # tier rule: the brand's pass has one tier (Basic = 0)
    tr = {
        "metric": "amount",
        "window_days": 365,
        "grace_days": 30,
        "thresholds": [{"tier": 1, "min": 10}],
    }
    r = c.put(f"/brands/{bid}/tier-rule", json=tr, headers=pm)
    assert r.status_code == 422 and "tiers 0 to 0" in r.json()["detail"]
    assert c.get(f"/brands/{bid}/tier-rule", headers=v).json() is None
    tr["thresholds"] = [{"tier": 0, "min": 0}]
    assert c.put(f"/brands/{bid}/tier-rule", json=tr, headers=iss).status_code == 403
    assert c.put(f"/brands/{bid}/tier-rule", json=tr, headers=pm).status_code == 200
    assert c.get(f"/brands/{bid}/tier-rule", headers=v).json()["metric"] == "amount"
    moves = c.get(f"/brands/{bid}/insights/tier-migration", headers=v).json()
    assert moves == {"up": 0, "down": 0, "stayed": 0}
