"""Off-chain tables of earning rules: versioned rules, campaigns with budgets, per-member usage,
the lines that explain each earning, member profiles (birthday, referral links) and tiers.

Same metadata as the other off-chain tables (`offchain_metadata`); times are Unix seconds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    UniqueConstraint,
    and_,
    delete,
    select,
    update,
)
from sqlmodel import Field

from .offchain import OffchainModel, table
from .perk_grants import revoke_grants
from .types import JSONDoc


class RuleVersion(OffchainModel, table=True):
    """One version of a brand's earn rule; an edit adds a version, never rewrites one."""

    __tablename__ = "rule_version"
    __table_args__ = (
        UniqueConstraint("brand_id", "rule_id", "version"),
        Index(None, "brand_id", "current"),
    )
    id: int | None = Field(default=None, primary_key=True)
    brand_id: str = Field(max_length=32)
    rule_id: str = Field(max_length=64)
    version: int
    name: str = Field(default="", max_length=128)
    trigger: str = Field(max_length=64)  # purchase | action:<name>
    conditions: dict[str, Any] = Field(sa_column=Column(JSONDoc, nullable=False))
    effect: dict[str, Any] = Field(sa_column=Column(JSONDoc, nullable=False))
    priority: int = 0
    stacking: str = Field(default="stack", max_length=16)  # stack | best_only | exclusive
    limit_count: int | None = None
    limit_period: str | None = Field(default=None, max_length=8)  # day|week|month|year|ever
    campaign_id: str | None = Field(default=None, max_length=64)
    active: bool = True
    current: bool = True  # the newest version of its rule id
    created_at: int = Field(sa_type=BigInteger)


class Campaign(OffchainModel, table=True):
    """A group of rules with a start, an end and a budget of points (`spent` is reserved in
    the same transaction as the earning, so it never goes past `budget`)."""

    __tablename__ = "campaign"
    brand_id: str = Field(primary_key=True, max_length=32)
    campaign_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=128)
    starts_at: int = Field(sa_type=BigInteger)
    ends_at: int = Field(sa_type=BigInteger)
    budget: int | None = Field(default=None, sa_type=BigInteger)
    spent: int = Field(default=0, sa_type=BigInteger)
    created_at: int = Field(sa_type=BigInteger)


class RuleUsage(OffchainModel, table=True):
    """How often a rule paid a member in one period (for per-member limits)."""

    __tablename__ = "rule_usage"
    brand_id: str = Field(primary_key=True, max_length=32)
    rule_id: str = Field(primary_key=True, max_length=64)
    member: str = Field(primary_key=True, max_length=42)
    period: str = Field(primary_key=True, max_length=16)
    used: int = 0


class EarnLine(OffchainModel, table=True):
    """One rule's share of one earning: which rule (and version) paid how much, and why."""

    __tablename__ = "earn_line"
    __table_args__ = (Index(None, "earn_id"), Index(None, "brand_id", "rule_id"))
    id: int | None = Field(default=None, primary_key=True)
    earn_id: int = Field(sa_type=BigInteger)
    brand_id: str = Field(max_length=32)
    rule_id: str = Field(max_length=64)
    version: int
    campaign_id: str | None = Field(default=None, max_length=64)
    points: int = Field(sa_type=BigInteger)
    perk_id: int | None = None
    why: str = Field(default="", max_length=500)
    # The per-member use it reserved (NULL: the rule has no limit): given back on release.
    usage_member: str | None = Field(default=None, max_length=42)
    usage_period: str | None = Field(default=None, max_length=16)


class RuleMember(OffchainModel, table=True):
    """What the rules know of a member in a brand: birth month, referral code and referrer."""

    __tablename__ = "rule_member"
    __table_args__ = (UniqueConstraint("brand_id", "referral_code"),)
    brand_id: str = Field(primary_key=True, max_length=32)
    member: str = Field(primary_key=True, max_length=42)
    birth_month: int | None = None
    referral_code: str | None = Field(default=None, max_length=16)
    referred_by: str | None = Field(default=None, max_length=42)
    joined_at: int = Field(sa_type=BigInteger)


def release_lines(conn: Connection, earn_ids: list[int]) -> None:
    """Give back what the lines of failed earnings reserved (campaign budget, per-member uses,
    the perks they granted), then drop the lines (the outbox calls it for a failed issue,
    earning for a failed send)."""
    t_line, t_camp, t_use = table(EarnLine), table(Campaign), table(RuleUsage)
    rows = conn.execute(select(t_line).where(t_line.c.earn_id.in_(earn_ids))).mappings().all()
    revoke_grants(conn, [dict(x) for x in rows if x["perk_id"] is not None])
    for x in rows:
        if x["campaign_id"] is not None:
            c = t_camp.c
            conn.execute(
                update(t_camp)
                .where(c.brand_id == x["brand_id"], c.campaign_id == x["campaign_id"])
                .values(spent=c.spent - x["points"])
            )
        if x["usage_period"] is not None:
            u = t_use.c
            key = and_(
                u.brand_id == x["brand_id"],
                u.rule_id == x["rule_id"],
                u.member == x["usage_member"],
                u.period == x["usage_period"],
            )
            conn.execute(update(t_use).where(key).values(used=u.used - 1))
    conn.execute(delete(t_line).where(t_line.c.earn_id.in_(earn_ids)))


class TierRule(OffchainModel, table=True):
    """How a brand's members qualify for tiers: points earned or amount spent over a rolling
    window, thresholds per tier, and a grace period before a downgrade."""

    __tablename__ = "tier_rule"
    brand_id: str = Field(primary_key=True, max_length=32)
    metric: str = Field(max_length=8)  # points | amount
    window_days: int
    grace_days: int
    thresholds: list[dict[str, int]] = Field(sa_column=Column(JSONDoc, nullable=False))
    updated_at: int = Field(sa_type=BigInteger)


class TierState(OffchainModel, table=True):
    """The tier the job last set for a member (ahead of the mirror until the change is mined)
    and since when the member has qualified only for a lower one (the grace clock)."""

    __tablename__ = "tier_state"
    brand_id: str = Field(primary_key=True, max_length=32)
    member: str = Field(primary_key=True, max_length=42)
    tier: int
    below_since: int | None = Field(default=None, sa_type=BigInteger)
    evaluated_at: int = Field(sa_type=BigInteger)
    since: int = Field(sa_type=BigInteger)  # the member's first evaluation


class TierChange(OffchainModel, table=True):
    """One tier change the job made (queued in the outbox: `operation_id`)."""

    __tablename__ = "tier_change"
    __table_args__ = (UniqueConstraint("idem_key"), Index(None, "brand_id", "at"))
    id: int | None = Field(default=None, primary_key=True)
    brand_id: str = Field(max_length=32)
    member: str = Field(max_length=42)
    from_tier: int
    to_tier: int
    at: int = Field(sa_type=BigInteger)
    idem_key: str = Field(max_length=200)
    operation_id: int | None = Field(default=None, sa_type=BigInteger)  # the outbox intent
