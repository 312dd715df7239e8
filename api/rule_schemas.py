"""Request bodies of the earning-rules API (rules, campaigns, simulate, profiles, tiers).

A rule's conditions and effect are checked by the domain layer (`programme.rules.model`), so
every mistake is a 422 `invalid_input` that names the field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from .schemas import Address, Strict


class RuleLimit(Strict):
    count: StrictInt = Field(ge=1, le=1_000_000)
    period: Literal["day", "week", "month", "year", "ever"]


class RuleIn(Strict):
    """An earn rule. trigger: `purchase` or `action:<name>` (any name, e.g. action:social_share).

    conditions (all optional, all must hold): min_amount, nth_order, first_order, channels
    (in_store/online/app), store_ids, tags_any, starts_at, ends_at (Unix seconds), hours
    ([from, to) UTC), days (mon…sun), tiers, min_tier, birthday_month, referral_converted.
    effect: {type: fixed, points} | {type: per_amount, amount_per_point} | {type: multiplier,
    percent} (200 = double the base rate) | {type: perk, perk_id}; optional beneficiary
    `referrer` pays the member who referred the buyer.
    """

    name: StrictStr = Field(default="", max_length=128)
    trigger: StrictStr = Field(max_length=64, examples=["purchase", "action:social_share"])
    conditions: dict[str, Any] = Field(default_factory=dict)
    effect: dict[str, Any] = Field(examples=[{"type": "fixed", "points": 50}])
    priority: StrictInt = Field(default=0, ge=-1_000_000, le=1_000_000)
    stacking: Literal["stack", "best_only", "exclusive"] = "stack"
    limit: RuleLimit | None = None
    campaign_id: StrictStr | None = Field(default=None, max_length=64)
    active: StrictBool = True


class RuleActiveIn(Strict):
    active: StrictBool


class CampaignIn(Strict):
    name: StrictStr = Field(default="", max_length=128)
    starts_at: StrictInt = Field(ge=0, le=2**62)
    ends_at: StrictInt = Field(ge=0, le=2**62)
    budget: StrictInt | None = Field(default=None, ge=0, le=2**62)  # points; null: no budget


class DraftRuleIn(RuleIn):
    rule_id: StrictStr = Field(min_length=1, max_length=64)


class SimulateIn(Strict):
    """Run the brand's rules (with drafts, or drafts only) over its orders in [from_, to)."""

    from_: StrictInt = Field(alias="from", ge=0, le=2**62)
    to: StrictInt = Field(ge=0, le=2**62)
    drafts: list[DraftRuleIn] = Field(default_factory=list, max_length=100)
    only_drafts: StrictBool = False
    with_orders: StrictBool = False


class ProfileIn(Strict):
    birth_month: StrictInt | None = Field(default=None, ge=1, le=12)
    referral_code: StrictStr | None = Field(default=None, min_length=1, max_length=16)


class RegistrationIn(Strict):
    member: Address
    referral_code: StrictStr | None = Field(default=None, min_length=1, max_length=16)
    birth_month: StrictInt | None = Field(default=None, ge=1, le=12)


class Threshold(Strict):
    tier: StrictInt = Field(ge=0, le=255)
    min: StrictInt = Field(ge=0, le=2**62)


class TierRuleIn(Strict):
    metric: Literal["points", "amount"]  # points earned, or amount spent (purchases)
    window_days: StrictInt = Field(ge=1, le=3660, examples=[365])
    grace_days: StrictInt = Field(default=0, ge=0, le=3660, examples=[30])
    thresholds: list[Threshold] = Field(min_length=1, max_length=32)
