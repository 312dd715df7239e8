"""Simulate: run rules over a past period's orders and report the points they would have paid,
the members reached and the liability added. Each order goes through `evaluate.price`, the
function live earning calls, with the event built by `live.event_of`; only the gate differs
(limits and budgets are counted in memory, from zero, as if the rules had been on from the
period's start)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from loyalty_ledger.errors import InvalidInput

from .evaluate import period_key, price
from .live import T_EARN, T_PASS, T_PROFILE, event_of
from .model import Rule, parse_rule
from .store import T_CAMP, active_rules

MAX_ORDERS = 1_000_000


class MemoryGate:
    """Per-member limits and campaign budgets counted in memory."""

    def __init__(self, budgets: dict[str, int | None]) -> None:
        self.budgets, self.spent = budgets, defaultdict[str, int](int)
        self.used = defaultdict[tuple[str, str, str], int](int)
        self.member, self.at = "", 0

    def __call__(self, rule: Rule, points: int) -> str | None:
        key = (rule.rule_id, self.member, period_key(rule.limit_period, self.at))
        if rule.limit_count is not None and self.used[key] >= rule.limit_count:
            return f"limit of {rule.limit_count} per {rule.limit_period} reached"
        if rule.campaign_id is not None and points > 0:
            budget = self.budgets.get(rule.campaign_id)
            if budget is not None and self.spent[rule.campaign_id] + points > budget:
                return f"budget of campaign {rule.campaign_id} spent"
            self.spent[rule.campaign_id] += points
        if rule.limit_count is not None:
            self.used[key] += 1
        return None


def _campaigns(conn: Connection, brand_id: str) -> dict[str, Any]:
    q = select(T_CAMP).where(T_CAMP.c.brand_id == brand_id)
    return {r["campaign_id"]: r for r in conn.execute(q).mappings()}


def _rules(
    conn: Connection, brand_id: str, drafts: Sequence[dict[str, Any]], only_drafts: bool
) -> tuple[list[Rule], dict[str, int | None]]:
    """The brand's active rules with the drafts (a draft replaces the rule of its id)."""
    camps = _campaigns(conn, brand_id)
    rules = {} if only_drafts else {r.rule_id: r for r in active_rules(conn, brand_id)}
    for d in drafts:
        if not isinstance(d, dict) or "rule_id" not in d:
            raise InvalidInput("each draft rule is a rule definition with its rule_id")
        spec = {k: v for k, v in d.items() if k not in ("rule_id", "version")}
        rule = parse_rule(d["rule_id"], 0, spec)
        if rule.campaign_id is not None:
            c = camps.get(rule.campaign_id)
            if c is None:
                raise InvalidInput(f"no campaign {rule.campaign_id}")
            rule = replace(rule, window=(int(c["starts_at"]), int(c["ends_at"])))
        rules[rule.rule_id] = rule
    return list(rules.values()), {k: c["budget"] for k, c in camps.items()}


def simulate(
    *,
    engine: Engine,
    brand_id: str,
    pass_contract: str,
    base_rate: int,
    start: int,
    end: int,
    drafts: Sequence[dict[str, Any]] = (),
    only_drafts: bool = False,
    with_orders: bool = False,
) -> dict[str, Any]:
    """What the rules would have paid for the brand's orders in [start, end) (`with_orders`:
    and for each order; `drafts`: rule definitions not saved yet, replacing the rule of their
    id; `only_drafts`: evaluate the drafts alone)."""
    if end <= start:
        raise InvalidInput("the period ends after it starts")
    e = T_EARN.c
    purchases = (e.brand_id == brand_id) & (e.reason == "purchase")
    with engine.connect() as conn:
        rules, budgets = _rules(conn, brand_id, drafts, only_drafts)
        before: dict[str, int] = dict(
            conn.execute(
                select(e.member, func.count())
                .where(purchases, (e.ordered_at < start))
                .group_by(e.member)
            ).all()
        )
        rows = conn.execute(
            select(T_EARN)
            .where(purchases, e.ordered_at >= start, e.ordered_at < end)
            .order_by(e.ordered_at, e.id)
            .limit(MAX_ORDERS + 1)
        ).mappings()
        orders = [dict(o) for o in rows]
        tiers = dict(
            conn.execute(
                select(T_PASS.c.owner, T_PASS.c.tier).where(
                    T_PASS.c.contract == pass_contract.lower()
                )
            ).all()
        )
        profiles = {
            r["member"]: dict(r)
            for r in conn.execute(
                select(T_PROFILE).where(T_PROFILE.c.brand_id == brand_id)
            ).mappings()
        }
    if len(orders) > MAX_ORDERS:
        raise InvalidInput(f"at most {MAX_ORDERS} orders per simulation: choose a shorter period")
    out = _run(rules, budgets, base_rate, orders, before, tiers, profiles)
    if not with_orders:
        del out["per_order"]
    return out


def _run(
    rules: list[Rule],
    budgets: dict[str, int | None],
    base_rate: int,
    orders: list[dict[str, Any]],
    before: dict[str, int],
    tiers: dict[str, int],
    profiles: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    gate = MemoryGate(budgets)
    count = defaultdict[str, int](int, before)
    per_rule: dict[str, dict[str, Any]] = {}
    reached: set[str] = set()
    per_order: list[dict[str, Any]] = []
    total = 0
    for o in orders:
        member = o["member"]
        count[member] += 1
        prof = profiles.get(member, {})
        ev = event_of(o, count[member], tiers.get(member.lower()), prof)
        gate.member, gate.at = member, ev.at
        out = price(rules, ev, base_rate=base_rate, gate=gate, referrer=prof.get("referred_by"))
        for x in out.lines:
            who = member if x.beneficiary == "member" else str(out.referrer)
            agg = per_rule.setdefault(x.rule_id, {"points": 0, "lines": 0, "members": set()})
            agg["points"] += x.points
            agg["lines"] += 1
            agg["members"].add(who)
            if x.points > 0:
                reached.add(who)
        pts = out.points() + out.points("referrer")
        total += pts
        per_order.append({"order_id": o["order_id"], "member": member, "points": out.points()})
    return {
        "orders": len(orders),
        "points": total,
        "liability_added": total,
        "members_reached": len(reached),
        "per_rule": {
            k: {"points": v["points"], "lines": v["lines"], "members": len(v["members"])}
            for k, v in sorted(per_rule.items())
        },
        "per_order": per_order,
    }
