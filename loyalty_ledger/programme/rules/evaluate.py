"""Rule evaluation: pure, the same for live earning and for simulation.

Which rules pay: those whose trigger is the event's and whose conditions (and campaign window)
hold. Of those, in order of priority (highest first, then rule id):

1. the first `exclusive` rule that its gate lets pay is the only one that pays;
2. otherwise the `best_only` rule paying the most points (ties: priority, then rule id) that
   its gate lets pay, and every `stack` rule that its gate lets pay.

A gate reserves what limits a rule (per-member limit, campaign budget): live earning passes
one that reserves in SQL inside the earning's transaction, simulation one that counts in
memory. A rule that would pay 0 points (and grants no perk) is not a line and uses no gate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .model import DAYS, Event, Line, Rule

Gate = Callable[[Rule, int], str | None]
"""Reserve for `rule` paying `points`: None when granted, else why not (e.g. budget spent)."""


@dataclass
class Outcome:
    lines: list[Line] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (rule id, why not)
    referrer: str | None = None  # who the referrer lines pay (live earning fills it in)

    def points(self, beneficiary: str = "member") -> int:
        return sum(x.points for x in self.lines if x.beneficiary == beneficiary)


def period_key(period: str | None, at: int) -> str:
    """The usage bucket of a per-member limit: 2026-12-07, 2026-W49, 2026-12, 2026 or all."""
    d = datetime.fromtimestamp(at, UTC)
    if period == "day":
        return d.strftime("%Y-%m-%d")
    if period == "week":
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    if period == "month":
        return d.strftime("%Y-%m")
    if period == "year":
        return d.strftime("%Y")
    return "all"


@lru_cache(maxsize=4096)
def _clock(at: int) -> tuple[int, int, int]:
    """(UTC hour, weekday Monday=0, month) of a time."""
    d = datetime.fromtimestamp(at, UTC)
    return d.hour, d.weekday(), d.month


def _holds(key: str, want: Any, ev: Event) -> bool:
    if key == "min_amount":
        return ev.amount >= want
    if key == "nth_order":
        return ev.order_n == want
    if key == "first_order":
        return (ev.order_n == 1) is want
    if key == "channels":
        return ev.channel in want
    if key == "store_ids":
        return ev.store_id in want
    if key == "tags_any":
        return bool(ev.tags & set(want))
    if key == "starts_at":
        return ev.at >= want
    if key == "ends_at":
        return ev.at < want
    if key == "hours":
        return bool(int(want[0]) <= _clock(ev.at)[0] < int(want[1]))
    if key == "days":
        return DAYS[_clock(ev.at)[1]] in want
    if key == "tiers":
        return ev.tier in want
    if key == "min_tier":
        return ev.tier is not None and ev.tier >= want
    if key == "birthday_month":
        return (ev.birth_month == _clock(ev.at)[2]) is want
    if key == "referral_converted":
        return (ev.referred and ev.order_n == 1) is want
    raise KeyError(key)


def applies(rule: Rule, ev: Event) -> bool:
    """The rule's trigger is the event's, its campaign runs then and its conditions hold."""
    if rule.trigger != ev.trigger:
        return False
    if rule.window is not None and not rule.window[0] <= ev.at < rule.window[1]:
        return False
    return all(_holds(k, v, ev) for k, v in rule.conditions.items())


def rule_points(rule: Rule, ev: Event, base_rate: int) -> int:
    """What the rule's effect pays for the event (base_rate: amount per point of the base)."""
    e = rule.effect
    if e["type"] == "fixed":
        return int(e["points"])
    if e["type"] == "per_amount":
        return ev.amount // int(e["amount_per_point"])
    if e["type"] == "multiplier":
        return (ev.amount // base_rate) * (int(e["percent"]) - 100) // 100
    return 0  # a perk


def explain(rule: Rule, points: int) -> str:
    """Why a rule paid: its effect and the conditions it checked."""
    e = rule.effect
    what = {
        "fixed": f"fixed {points} points",
        "per_amount": f"1 point per {e.get('amount_per_point')} of the amount",
        "multiplier": f"{e.get('percent')}% of the base rate (+{points})",
        "perk": f"perk {e.get('perk_id')} granted",
    }[e["type"]]
    conds = rule.conditions_text
    side = " to the referrer" if rule.beneficiary == "referrer" else ""
    return f"{rule.trigger}: {what}{side}" + (f" when {conds}" if conds else "")


def _line(rule: Rule, points: int, at: int) -> Line:
    perk = rule.effect.get("perk_id") if rule.effect["type"] == "perk" else None
    period = period_key(rule.limit_period, at) if rule.limit_count is not None else None
    why = explain(rule, points)
    return Line(
        rule.rule_id, rule.version, points, why, rule.campaign_id, perk, rule.beneficiary, period
    )


def _order(rules: Sequence[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (-r.priority, r.rule_id))


def evaluate(
    rules: Sequence[Rule], ev: Event, *, base_rate: int, gate: Gate | None = None
) -> Outcome:
    """The lines the rules pay for `ev` (see the module docstring for the order)."""
    out = Outcome()
    paying: list[tuple[Rule, int]] = []
    for r in _order(rules):
        if applies(r, ev):
            pts = rule_points(r, ev, base_rate)
            if pts > 0 or r.effect["type"] == "perk":
                paying.append((r, pts))

    def granted(r: Rule, pts: int) -> bool:
        why_not = gate(r, pts) if gate is not None else None
        if why_not is not None:
            out.skipped.append((r.rule_id, why_not))
        return why_not is None

    for r, pts in paying:
        if r.stacking == "exclusive" and granted(r, pts):
            out.lines.append(_line(r, pts, ev.at))
            return out
    best = [(r, p) for r, p in paying if r.stacking == "best_only"]
    chosen: set[str] = set()
    for r, pts in sorted(best, key=lambda rp: (-rp[1], -rp[0].priority, rp[0].rule_id)):
        if granted(r, pts):
            chosen.add(r.rule_id)
            break
    for r, pts in paying:
        if r.rule_id in chosen or (r.stacking == "stack" and granted(r, pts)):
            out.lines.append(_line(r, pts, ev.at))
    return out


def price(
    rules: Sequence[Rule], ev: Event, *, base_rate: int, gate: Gate, referrer: str | None
) -> Outcome:
    """What one earning pays, live or simulated alike: the rules evaluated for the event (rules
    paying a referrer take part only when the member has one)."""
    if referrer is None:
        rules = [r for r in rules if r.beneficiary != "referrer"]
    out = evaluate(rules, ev, base_rate=base_rate, gate=gate)
    out.referrer = referrer
    return out
