"""Notifications on triggers: points about to expire, a perk now within reach, a new tier, a
birthday this month. Each trigger queues one message per member and occasion (its dedupe key
names the occasion: the expiry date, the perk, the tier, the year), so running the triggers
again, or on two workers, sends nothing twice.

The first run of the tier and perk triggers for a brand records who already holds a tier or
reaches a perk without messaging them (state `skipped`): only changes after it are news.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from ..chain.deploy import Program
from ..config import Settings
from ..store.crm_tables import T_NOTIFICATION
from ..store.offchain import PerkRow, table
from .facts import Facts, member_facts
from .notify import enqueue

EXPIRY_NOTICE_DAYS = 7  # points expiring within this many days are announced


def _seen_kind(engine: Engine, brand_id: str, kind: str) -> bool:
    n = T_NOTIFICATION
    with engine.connect() as conn:
        q = select(func.count()).where(n.c.brand_id == brand_id, n.c.kind == kind)
        return bool(conn.execute(q).scalar_one())


def _perks(engine: Engine, brand_id: str, now: int) -> list[dict[str, Any]]:
    t = table(PerkRow)
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.brand_id == brand_id, t.c.active.is_(True)))
        return [
            dict(r)
            for r in rows.mappings()
            if (r["valid_from"] or 0) <= now
            and (r["valid_until"] is None or r["valid_until"] > now)
            and (r["total_stock"] is None or r["redeemed_count"] < r["total_stock"])
        ]


def _reaches(f: Facts, perk: dict[str, Any]) -> bool:
    need = max(perk["min_points"], perk["point_cost"])
    tier_ok = perk["min_tier"] is None or (f.tier is not None and f.tier >= perk["min_tier"])
    return tier_ok and f.balance >= need and need > 0


def run_triggers(
    *, engine: Engine, settings: Settings, program: Program, now: int | None = None
) -> dict[str, int]:
    """Queue what the triggers find now; counts of queued messages by trigger."""
    now = int(time.time()) if now is None else now
    facts = list(member_facts(engine=engine, program=program, now=now).values())
    bid, name = program.brand_id, program.name or program.brand_id
    common: dict[str, Any] = {
        "engine": engine,
        "settings": settings,
        "brand_id": bid,
        "brand_name": name,
        "now": now,
    }
    out = {"points_expiring": 0, "perk_available": 0, "tier_changed": 0, "birthday": 0}
    by_date: dict[str, list[Facts]] = {}
    for f in facts:
        soon = [t for t, a in f.lots if now < t <= now + EXPIRY_NOTICE_DAYS * 86_400 and a > 0]
        if soon:
            by_date.setdefault(
                datetime.fromtimestamp(min(soon), UTC).date().isoformat(), []
            ).append(f)
    for day, members in by_date.items():
        out["points_expiring"] += enqueue(
            **common,
            members=members,
            kind="points_expiring",
            key=f"expiring:{day}",
            subject="Your {brand} points expire soon",
            text=f"Hi {{name}}, some of your {{brand}} points expire on {day}: use them soon.",
        )["queued"]
    today = datetime.fromtimestamp(now, UTC)
    born = [f for f in facts if f.profile and f.profile.get("birth_month") == today.month]
    out["birthday"] = enqueue(
        **common,
        members=born,
        kind="birthday",
        key=f"birthday:{today.year}",
        subject="Happy birthday from {brand}",
        text="Happy birthday, {name}! Enjoy your month.",
    )["queued"]
    state = "queued" if _seen_kind(engine, bid, "tier_changed") else "skipped"
    for tier in sorted({f.tier for f in facts if f.tier is not None}):
        n = enqueue(
            **common,
            members=[f for f in facts if f.tier == tier],
            kind="tier_changed",
            key=f"tier:{tier}",
            subject="Your {brand} tier changed",
            text=f"Hi {{name}}, you are now at tier {tier} with {{brand}}.",
            state=state,
        )["queued"]
        out["tier_changed"] += n if state == "queued" else 0
    state = "queued" if _seen_kind(engine, bid, "perk_available") else "skipped"
    for perk in _perks(engine, bid, now):
        title = perk["name"].replace("{", "(").replace("}", ")")  # not a placeholder
        n = enqueue(
            **common,
            members=[f for f in facts if _reaches(f, perk)],
            kind="perk_available",
            key=f"perk:{perk['id']}",
            subject=f"{title} is yours to take",
            text=f"Hi {{name}}, you have {{points}} points: enough for {title}.",
            state=state,
        )["queued"]
        out["perk_available"] += n if state == "queued" else 0
    return out
