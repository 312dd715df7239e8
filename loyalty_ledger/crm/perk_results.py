"""Perk and redemption results by tier: per perk, the confirmed redemptions, points spent and
distinct members, split by the redeeming member's tier now (no pass: tier null)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from ..chain.deploy import Program
from ..store import models as m
from ..store.offchain import PerkRow, Redemption, table

T_PASS = m.Pass.__table__  # type: ignore[attr-defined]
T_TIER = m.Tier.__table__  # type: ignore[attr-defined]


def results_by_tier(*, engine: Engine, program: Program) -> list[dict[str, Any]]:
    """One row per perk and tier, with the perk's stock and status."""
    r, p = table(Redemption), table(PerkRow)
    tiers = select(T_PASS.c.owner, T_PASS.c.tier).where(T_PASS.c.contract == program.pass_.lower())
    tiers_sq = tiers.subquery()
    q = (
        select(
            p.c.id,
            p.c.name,
            p.c.active,
            p.c.total_stock,
            p.c.redeemed_count,
            tiers_sq.c.tier,
            func.count(r.c.id),
            func.coalesce(func.sum(r.c.points), 0),
            func.count(func.distinct(r.c.member)),
        )
        .select_from(p)
        .join(r, (r.c.perk_id == p.c.id) & (r.c.status == "confirmed"), isouter=True)
        .join(tiers_sq, tiers_sq.c.owner == func.lower(r.c.member), isouter=True)
        .where(p.c.brand_id == program.brand_id)
        .group_by(
            p.c.id, p.c.name, p.c.active, p.c.total_stock, p.c.redeemed_count, tiers_sq.c.tier
        )
        .order_by(p.c.id, tiers_sq.c.tier)
    )
    with engine.connect() as conn:
        names: dict[int, str] = dict(
            conn.execute(
                select(T_TIER.c.tier, T_TIER.c.name).where(
                    T_TIER.c.contract == program.pass_.lower()
                )
            ).all()
        )
        rows = conn.execute(q).all()
    return [
        {
            "perk_id": pid,
            "perk": name,
            "active": bool(active),
            "stock": stock,
            "redeemed_count": redeemed,
            "tier": tier,
            "tier_name": names.get(tier),
            "redemptions": int(n),
            "points": int(points),
            "members": int(members),
        }
        for pid, name, active, stock, redeemed, tier, n, points, members in rows
    ]
