"""What a rule is (`Rule`), what an earning event looks like to the rules (`Event`), and what
evaluation returns (`Line`); `parse_rule` checks a brand's rule definition (InvalidInput)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from loyalty_ledger.errors import InvalidInput

STACKING = ("stack", "best_only", "exclusive")
PERIODS = ("day", "week", "month", "year", "ever")
CHANNELS = ("in_store", "online", "app")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EFFECTS = ("fixed", "per_amount", "multiplier", "perk")
BENEFICIARIES = ("member", "referrer")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
CONDITIONS = (
    "min_amount",
    "nth_order",
    "first_order",
    "channels",
    "store_ids",
    "tags_any",
    "starts_at",
    "ends_at",
    "hours",
    "days",
    "tiers",
    "min_tier",
    "birthday_month",
    "referral_converted",
)


@dataclass(frozen=True)
class Rule:
    """One version of an earn rule, as evaluation sees it."""

    rule_id: str
    version: int
    trigger: str  # "purchase" or "action:<name>"
    effect: dict[str, Any]
    conditions: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    stacking: str = "stack"
    limit_count: int | None = None
    limit_period: str | None = None
    campaign_id: str | None = None
    window: tuple[int, int] | None = None  # the campaign's [start, end), Unix seconds
    name: str = ""
    beneficiary: str = field(init=False, compare=False)  # member | referrer
    conditions_text: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:  # computed once: evaluation explains many earnings
        object.__setattr__(self, "beneficiary", str(self.effect.get("beneficiary", "member")))
        text = ", ".join(f"{k}={v}" for k, v in sorted(self.conditions.items()))
        object.__setattr__(self, "conditions_text", text)


@dataclass(frozen=True)
class Event:
    """An earning event with what the rules may ask of it and of its member."""

    trigger: str
    at: int  # Unix seconds (the order's time)
    amount: int = 0
    order_n: int = 0  # the member's n-th order (this one included); 0 for actions
    channel: str | None = None
    store_id: str | None = None
    tags: frozenset[str] = frozenset()
    tier: int | None = None
    birth_month: int | None = None
    referred: bool = False  # the member joined with a referral code


@dataclass(frozen=True)
class Line:
    """One rule's share of an earning."""

    rule_id: str
    version: int
    points: int
    why: str
    campaign_id: str | None = None
    perk_id: int | None = None
    beneficiary: str = "member"
    usage_period: str | None = None  # the per-member limit's bucket it used (None: no limit)


def _whole(value: Any, what: str, lo: int = 0, hi: int = 2**62) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidInput(f"{what} must be a whole number from {lo} to {hi}")
    return value


def _texts(value: Any, what: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > 100:
        raise InvalidInput(f"{what} must be a list of 1 to 100 values")
    for v in value:
        if not isinstance(v, str) or not 0 < len(v) <= 64:
            raise InvalidInput(f"{what} holds text of 1 to 64 characters")
        if allowed is not None and v not in allowed:
            raise InvalidInput(f"{what} must be some of {', '.join(allowed)}")
    return value


def check_trigger(trigger: Any) -> str:
    """`purchase` or `action:<name>` (a name the brand chooses: lowercase, digits, _)."""
    if trigger == "purchase":
        return trigger
    if isinstance(trigger, str) and trigger.startswith("action:") and NAME.match(trigger[7:]):
        return trigger
    raise InvalidInput("trigger must be 'purchase' or 'action:<name>' (e.g. action:social_share)")


def check_conditions(cond: Any) -> dict[str, Any]:
    if not isinstance(cond, dict):
        raise InvalidInput("conditions must be an object")
    unknown = sorted(set(cond) - set(CONDITIONS))
    if unknown:
        raise InvalidInput(f"unknown conditions {unknown}; known: {', '.join(CONDITIONS)}")
    for key in ("min_amount", "starts_at", "ends_at", "min_tier"):
        if key in cond:
            _whole(cond[key], key)
    if "nth_order" in cond:
        _whole(cond["nth_order"], "nth_order", 1, 1_000_000)
    for key in ("first_order", "birthday_month", "referral_converted"):
        if key in cond and not isinstance(cond[key], bool):
            raise InvalidInput(f"{key} must be true or false")
    if "channels" in cond:
        _texts(cond["channels"], "channels", CHANNELS)
    for key in ("store_ids", "tags_any"):
        if key in cond:
            _texts(cond[key], key)
    if "days" in cond:
        _texts(cond["days"], "days", DAYS)
    if "hours" in cond:
        h = cond["hours"]
        if not (isinstance(h, list) and len(h) == 2):
            raise InvalidInput("hours must be [from, to): UTC hours 0-24, e.g. [17, 20]")
        _whole(h[0], "hours[0]", 0, 23), _whole(h[1], "hours[1]", 1, 24)
    if "tiers" in cond and (
        not isinstance(cond["tiers"], list)
        or not cond["tiers"]
        or not all(_whole(t, "tiers") >= 0 for t in cond["tiers"])
    ):
        raise InvalidInput("tiers must be a list of tier numbers")
    return cond


def check_effect(effect: Any) -> dict[str, Any]:
    if not isinstance(effect, dict) or effect.get("type") not in EFFECTS:
        raise InvalidInput(f"effect must be an object with type one of {', '.join(EFFECTS)}")
    kind = effect["type"]
    need = {"fixed": "points", "per_amount": "amount_per_point", "multiplier": "percent"}
    need |= {"perk": "perk_id"}
    allowed = {"type", need[kind], "beneficiary"}
    if set(effect) - allowed:
        raise InvalidInput(f"a {kind} effect takes {', '.join(sorted(allowed))}")
    lo = {"fixed": 0, "per_amount": 1, "multiplier": 100, "perk": 1}[kind]
    _whole(effect.get(need[kind]), f"effect.{need[kind]}", lo, 2**62)
    if effect.get("beneficiary", "member") not in BENEFICIARIES:
        raise InvalidInput("effect.beneficiary must be member or referrer")
    return effect


def parse_rule(rule_id: str, version: int, spec: dict[str, Any]) -> Rule:
    """A rule from a brand's definition (the API body), every field checked."""
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise InvalidInput("rule id: 1 to 64 letters, digits, _ . : - (starting alphanumeric)")
    known = {"trigger", "conditions", "effect", "priority", "stacking", "limit", "campaign_id"}
    if set(spec) - known - {"name", "active"}:
        raise InvalidInput(f"unknown rule fields {sorted(set(spec) - known - {'name', 'active'})}")
    stacking = spec.get("stacking", "stack")
    if stacking not in STACKING:
        raise InvalidInput(f"stacking must be one of {', '.join(STACKING)}")
    limit = spec.get("limit")
    count = period = None
    if limit is not None:
        if not isinstance(limit, dict) or limit.get("period") not in PERIODS:
            raise InvalidInput(
                f"limit is {{count, period}} with period one of {', '.join(PERIODS)}"
            )
        count, period = _whole(limit.get("count"), "limit.count", 1, 1_000_000), limit["period"]
    return Rule(
        rule_id=rule_id,
        version=version,
        trigger=check_trigger(spec.get("trigger")),
        effect=check_effect(spec.get("effect")),
        conditions=check_conditions(spec.get("conditions", {})),
        priority=_whole(spec.get("priority", 0), "priority", -1_000_000, 1_000_000),
        stacking=stacking,
        limit_count=count,
        limit_period=period,
        campaign_id=spec.get("campaign_id"),
        name=str(spec.get("name", ""))[:128],
    )
