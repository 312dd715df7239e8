"""The pure judgement of eligibility: what an address holds, and every reason it may not redeem
a perk now."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loyalty_ledger.programme.perks.catalogue import Reason


@dataclass
class Holding:
    """What eligibility needs to know about one address."""

    registered: bool = False
    frozen: bool = False
    balance: int = 0
    pass_tier: int | None = None
    pass_expires_at: int = 0
    partner_pass: bool = False  # holds an active pass of the partner brand
    used: int = 0


@dataclass
class Eligibility:
    perk_id: int
    address: str
    eligible: bool
    reasons: list[Reason] = field(default_factory=list)
    as_of_block: int | None = None
    strict: bool = False
    balance: int = 0


def pass_active(expires_at: int, now: int) -> bool:
    return expires_at == 0 or expires_at > now


def judge(perk: dict[str, Any], h: Holding, *, now: int) -> list[Reason]:
    """Every reason `h` cannot redeem `perk` now (pure; empty when eligible)."""
    out: list[Reason] = []
    if not perk["active"]:
        out.append(Reason("perk_inactive", "the perk is switched off"))
    if perk["valid_from"] is not None and now < perk["valid_from"]:
        out.append(Reason("not_started", f"the perk starts at {perk['valid_from']}"))
    if perk["valid_until"] is not None and now >= perk["valid_until"]:
        out.append(Reason("ended", f"the perk ended at {perk['valid_until']}"))
    if perk["total_stock"] is not None and perk["redeemed_count"] >= perk["total_stock"]:
        out.append(Reason("out_of_stock", "no stock left"))
    if perk["per_member_limit"] is not None and h.used >= perk["per_member_limit"]:
        out.append(Reason("limit_reached", f"redeemed {h.used} of {perk['per_member_limit']}"))
    if not h.registered:
        out.append(Reason("not_a_member", "the address is not a registered member"))
    if h.frozen:
        out.append(Reason("account_frozen", "the account is frozen"))
    needed = max(perk["min_points"], perk["point_cost"])
    if h.balance < needed:
        out.append(Reason("insufficient_points", f"holds {h.balance} points, needs {needed}"))
    has_pass = h.pass_tier is not None
    active = has_pass and pass_active(h.pass_expires_at, now)
    if (perk["active_pass_required"] or perk["min_tier"] is not None) and not has_pass:
        out.append(Reason("no_pass", "holds no membership pass"))
    elif perk["active_pass_required"] and not active:
        out.append(Reason("pass_expired", f"the pass expired at {h.pass_expires_at}"))
    if perk["min_tier"] is not None and has_pass and (h.pass_tier or 0) < perk["min_tier"]:
        out.append(Reason("tier_too_low", f"tier {h.pass_tier}, needs {perk['min_tier']}"))
    if perk["partner_brand_id"] is not None and not h.partner_pass:
        out.append(
            Reason("no_partner_pass", f"needs an active pass of brand {perk['partner_brand_id']}")
        )
    return out
