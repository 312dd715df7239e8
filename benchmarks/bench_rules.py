"""Earning-rules figures: earns evaluated per second with 20 active rules, beside the plain
linear rate (one division) measured in the same run; the claim write path (the SQL
transaction an earn request runs: claim, rules, limits, budget, lines) with 20 rules beside
the same claim priced by the linear rate alone; simulate over 100,000 past orders beside
reading those orders; and the HTTP earn end to end with 20 rules beside the same request to a
brand on the linear rate (`_rules_http`). SQLite (a file) and PostgreSQL (when reachable).
Prints `uptime` (the load averages) beside the figures: the machine is shared.

Run: .venv/bin/python benchmarks/bench_rules.py [--events 50000 --claims 1000 --orders 100000]
     [--http-seconds 8 --http-concurrency 16] [--only-http | --no-http]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import addresses  # type: ignore[import-not-found]
from _rules_http import bench_http, uptime  # type: ignore[import-not-found]

from loyalty_ledger.programme import earn
from loyalty_ledger.programme.claims import claim
from loyalty_ledger.programme.rules import campaigns, store
from loyalty_ledger.programme.rules.evaluate import evaluate
from loyalty_ledger.programme.rules.live import Plan
from loyalty_ledger.programme.rules.model import Event, parse_rule
from loyalty_ledger.programme.rules.simulate import simulate
from loyalty_ledger.store import make_engine, migrate
from loyalty_ledger.store.offchain import EarnRecord, table

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RATE, PASS, T0 = 10_000, "0x" + "bb" * 20, 1_767_225_600  # 2026-01-01


def twenty_rules() -> list[tuple[str, dict[str, Any]]]:
    """20 active rules of every kind a brand runs (the base rate is `base-rate`, seeded)."""
    fixed = lambda n: {"type": "fixed", "points": n}  # noqa: E731
    out = [
        ("second", {"conditions": {"nth_order": 2}, "effect": fixed(50)}),
        ("first", {"conditions": {"first_order": True}, "effect": fixed(20)}),
        (
            "big",
            {"conditions": {"min_amount": 500_000}, "effect": fixed(30), "stacking": "best_only"},
        ),
        (
            "huge",
            {
                "conditions": {"min_amount": 2_000_000},
                "effect": fixed(120),
                "stacking": "best_only",
            },
        ),
        (
            "app",
            {"conditions": {"channels": ["app"]}, "effect": {"type": "multiplier", "percent": 150}},
        ),
        ("online", {"conditions": {"channels": ["online"]}, "effect": fixed(5)}),
        ("store7", {"conditions": {"store_ids": ["s7", "s8"]}, "effect": fixed(15)}),
        (
            "coffee",
            {
                "conditions": {"tags_any": ["coffee"]},
                "effect": fixed(3),
                "limit": {"count": 3, "period": "week"},
            },
        ),
        ("tea", {"conditions": {"tags_any": ["tea"]}, "effect": fixed(2)}),
        (
            "weekend",
            {
                "conditions": {"days": ["sat", "sun"]},
                "effect": {"type": "multiplier", "percent": 200},
                "campaign_id": "launch",
            },
        ),
        ("happy", {"conditions": {"hours": [15, 17]}, "effect": fixed(4)}),
        ("gold", {"conditions": {"min_tier": 2}, "effect": {"type": "multiplier", "percent": 125}}),
        ("silver", {"conditions": {"tiers": [1]}, "effect": fixed(2)}),
        (
            "bday",
            {
                "conditions": {"birthday_month": True},
                "effect": fixed(100),
                "limit": {"count": 1, "period": "year"},
            },
        ),
        ("ref", {"conditions": {"referral_converted": True}, "effect": fixed(40)}),
        (
            "vip",
            {
                "conditions": {"store_ids": ["s1"], "min_amount": 1_000_000},
                "effect": fixed(500),
                "stacking": "exclusive",
                "priority": 9,
            },
        ),
        (
            "per5k",
            {
                "conditions": {"channels": ["in_store"]},
                "effect": {"type": "per_amount", "amount_per_point": 50_000},
            },
        ),
        ("daily", {"effect": fixed(1), "limit": {"count": 1, "period": "day"}}),
        ("launch", {"effect": fixed(2), "campaign_id": "launch"}),
    ]
    return [(rid, {"trigger": "purchase", **spec}) for rid, spec in out]


def events(n: int, rnd: random.Random) -> list[Event]:
    return [
        Event(
            trigger="purchase",
            at=T0 + rnd.randrange(0, 180 * 86_400),
            amount=rnd.randrange(10_000, 3_000_000),
            order_n=rnd.randrange(1, 20),
            channel=rnd.choice(["in_store", "online", "app"]),
            store_id=f"s{rnd.randrange(1, 12)}",
            tags=frozenset(rnd.sample(["coffee", "tea", "cake", "mug"], 2)),
            tier=rnd.randrange(0, 3),
            birth_month=rnd.randrange(1, 13),
            referred=rnd.random() < 0.1,
        )
        for _ in range(n)
    ]


def per_second(n: int, fn: Callable[[], None]) -> float:
    t = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t)


def bench_eval(n: int) -> None:
    rnd = random.Random(15)
    rules = [parse_rule(rid, 1, spec) for rid, spec in twenty_rules()]
    rules.append(
        parse_rule(
            "base-rate",
            1,
            {"trigger": "purchase", "effect": {"type": "per_amount", "amount_per_point": RATE}},
        )
    )
    rules = [r if r.campaign_id is None else replace(r, window=(T0, T0 + 10**8)) for r in rules]
    evs = events(n, rnd)
    linear = earn.Rule("b", "VND", RATE, {})
    floor = per_second(n, lambda: [linear.purchase_points(e.amount, "VND") for e in evs])
    got = per_second(
        n, lambda: [evaluate(rules, e, base_rate=RATE, gate=lambda r, p: None) for e in evs]
    )
    print(
        f"evaluation alone, {len(rules)} active rules: {got:,.0f} earns/s "
        f"(floor: linear rate {floor:,.0f}/s; {floor / got:.0f}x the cost)"
    )


def setup_brand(engine: Engine, brand: str = "b") -> None:
    """The brand's base rate, the launch campaign and the 20 rules."""
    earn.set_rule(engine=engine, brand_id=brand, currency="VND", amount_per_point=RATE, bonuses={})
    campaigns.put_campaign(
        engine=engine,
        brand_id=brand,
        campaign_id="launch",
        starts_at=T0,
        ends_at=T0 + 10**8,
        budget=10**12,
    )
    for rid, spec in twenty_rules():
        store.put_rule(engine=engine, brand_id=brand, rule_id=rid, spec=spec)


def bench_claims(engine: Engine, name: str, n: int) -> None:
    members = addresses(200, "bench-rules")
    rnd = random.Random(7)
    linear = earn.Rule("b", "VND", RATE, {})

    def run(brand: str, plan: Plan | None) -> float:
        rows = [
            earn.purchase_values(
                linear,
                member=rnd.choice(members),
                order_id=f"{brand}-{i}",
                amount=rnd.randrange(10_000, 3_000_000),
                currency="VND",
                items=1,
                earliest=0,
                channel=rnd.choice(["in_store", "online", "app"]),
                store_id=f"s{rnd.randrange(1, 12)}",
                tags=["coffee"],
            )
            for i in range(n)
        ]
        return per_second(
            n, lambda: [claim(engine, {"brand_id": brand, **r}, plan=plan) for r in rows]
        )

    setup_brand(engine)
    floor = run("plain", None)  # the claim priced by the linear rate, no rules, no lines
    got = run("b", Plan("b", PASS, RATE))
    print(
        f"{name}: claim write path with 20 rules: {got:,.0f} earns/s "
        f"(floor: the same claim at the linear rate {floor:,.0f}/s)"
    )


def bench_simulate(engine: Engine, name: str, n: int) -> None:
    rnd = random.Random(3)
    members = addresses(5_000, "bench-sim")
    t = table(EarnRecord)
    rows = []
    for i in range(n):
        rows.append(
            {
                "brand_id": "s",
                "idem_key": f"order:{i}",
                "member": rnd.choice(members),
                "reason": "purchase",
                "points": 0,
                "order_id": str(i),
                "order_amount": rnd.randrange(10_000, 3_000_000),
                "currency": "VND",
                "items_count": 1,
                "status": "confirmed",
                "created_at": T0,
                "ordered_at": T0 + rnd.randrange(0, 90 * 86_400),
                "channel": rnd.choice(["in_store", "online", "app"]),
                "store_id": f"s{rnd.randrange(1, 12)}",
                "tags": "coffee,tea",
            }
        )
    with engine.begin() as conn:
        for k in range(0, n, 5_000):
            conn.execute(insert(t), rows[k : k + 5_000])
    setup_brand(engine, "s")
    t0 = time.perf_counter()
    with engine.connect() as conn:
        got = (
            conn.execute(
                select(t.c.order_amount).where(t.c.brand_id == "s").order_by(t.c.ordered_at)
            )
            .scalars()
            .all()
        )
    _ = sum(a // RATE for a in got)
    floor = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = simulate(
        engine=engine, brand_id="s", pass_contract=PASS, base_rate=RATE, start=T0, end=T0 + 10**8
    )
    took = time.perf_counter() - t0
    assert out["orders"] == n
    print(
        f"{name}: simulate {n:,} past orders with 20 rules: {took:.1f} s "
        f"({n / took:,.0f} orders/s; "
        f"{out['members_reached']:,} members, {out['liability_added']:,} points) "
        f"(floor: reading them and the linear rate {floor:.1f} s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--claims", type=int, default=1_000)
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--http-seconds", type=float, default=8.0)
    ap.add_argument("--http-concurrency", type=int, default=16)
    ap.add_argument("--http-workers", type=int, default=2)
    ap.add_argument("--http-max", type=int, default=50_000)
    ap.add_argument("--http-databases", default="sqlite,postgresql")
    ap.add_argument("--only-http", action="store_true", help="Only the HTTP figure.")
    ap.add_argument("--no-http", action="store_true", help="Without the HTTP figure.")
    a = ap.parse_args()
    print(f"{uptime()} ({os.cpu_count()} cores)")
    if not a.no_http:
        bench_http(a, setup_brand)
    if a.only_http:
        print(f"after: {uptime()}")
        return
    bench_eval(a.events)
    with tempfile.TemporaryDirectory() as tmp:
        eng = make_engine(f"sqlite:///{tmp}/rules.db")
        migrate(eng)
        bench_claims(eng, "SQLite", a.claims)
        bench_simulate(eng, "SQLite", a.orders)
        eng.dispose()
    try:
        admin = create_engine(PG_URL)
        schema = f"bench_rules_{uuid.uuid4().hex[:8]}"
        with admin.begin() as c:
            c.execute(text(f"create schema {schema}"))
    except Exception as exc:  # no server: say so, the SQLite figures stand
        print(f"PostgreSQL skipped: {type(exc).__name__}")
        return
    try:
        eng = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
        migrate(eng)
        bench_claims(eng, "PostgreSQL", a.claims)
        bench_simulate(eng, "PostgreSQL", a.orders)
        eng.dispose()
    finally:
        with admin.begin() as c:
            c.execute(text(f"drop schema {schema} cascade"))
        admin.dispose()
    print(f"after: {uptime()}")


if __name__ == "__main__":
    main()
