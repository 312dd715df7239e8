"""The console's member views: search by address, email, phone or referral code, and one
member's 360° page (profile as the brand may see it, referral, points by expiry, pass and tier
history, orders, redemptions, notifications, scores)."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import Engine, or_, select

from ..chain.deploy import Program
from ..store import models as m
from ..store import queries
from ..store.crm_tables import T_PROFILE
from ..store.offchain import EarnRecord, Redemption, table
from ..store.rules_tables import RuleMember
from ..validate import checksum_address
from . import churn, notify, profiles
from .facts import brand_buyers

T_EARN, T_REDEEM, T_RULE_MEMBER = table(EarnRecord), table(Redemption), table(RuleMember)
T_BAL = m.Balance.__table__  # type: ignore[attr-defined]
T_EVENT = m.Event.__table__  # type: ignore[attr-defined]
PASS_EVENTS = ("PassIssued", "PassTierChanged", "PassRenewed", "PassRevoked")
_HEX = re.compile(r"^0x[0-9a-fA-F]{4,40}$")
_CODE = re.compile(r"^[A-Za-z0-9]{4,16}$")  # a referral code (upper case when made)
SHOWN = 100  # orders, redemptions and notifications shown on the page


def search(*, engine: Engine, program: Program, query: str, limit: int = 20) -> list[str]:
    """Members matching an address (whole or its first hex digits), a referral code, a
    consented email or phone."""
    q = query.strip()
    if _HEX.match(q):
        if len(q) == 42:
            return [checksum_address(q)]
        low = q.lower()
        with engine.connect() as conn:
            rows = conn.execute(
                select(T_BAL.c.holder)
                .where(T_BAL.c.token == program.points.lower(), T_BAL.c.holder.like(f"{low}%"))
                .order_by(T_BAL.c.holder)
                .limit(limit)
            ).scalars()
            return [checksum_address(a) for a in rows]
    found = []
    if _CODE.match(q):
        with engine.connect() as conn:
            found = list(
                conn.execute(
                    select(T_RULE_MEMBER.c.member).where(
                        T_RULE_MEMBER.c.brand_id == program.brand_id,
                        T_RULE_MEMBER.c.referral_code == q.upper(),
                    )
                ).scalars()
            )
    more = profiles.find_members(engine=engine, brand_id=program.brand_id, query=q, limit=limit)
    return [*found, *(a for a in more if a not in found)][:limit]


def _referral(conn: Any, brand_id: str, addr: str) -> dict[str, Any] | None:
    """The member's referral code, who referred them and when they joined (no birth month)."""
    row = conn.execute(
        select(
            T_RULE_MEMBER.c.referral_code, T_RULE_MEMBER.c.referred_by, T_RULE_MEMBER.c.joined_at
        ).where(T_RULE_MEMBER.c.brand_id == brand_id, T_RULE_MEMBER.c.member == addr)
    ).first()
    return None if row is None else dict(row._mapping)


def _pass_history(conn: Any, program: Program, token_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(T_EVENT.c.event, T_EVENT.c.args, T_EVENT.c.block_number)
        .where(T_EVENT.c.contract == program.pass_.lower(), T_EVENT.c.event.in_(PASS_EVENTS))
        .order_by(T_EVENT.c.id)
    ).all()
    return [
        {
            "event": ev,
            "block": int(b),
            **{k: args[k] for k in ("tier", "toTier", "expiresAt") if k in args},
        }
        for ev, args, b in rows
        if int(args.get("tokenId", -1)) == token_id
    ]


def member_360(*, engine: Engine, program: Program, address: str) -> dict[str, Any]:
    """Everything the brand may see about one member."""
    addr, now = checksum_address(address), int(time.time())
    low, bid = addr.lower(), program.brand_id
    profile = profiles.brand_view(profiles.get_profile(engine=engine, brand_id=bid, member=addr))
    with engine.connect() as conn:
        balance = queries.balance(conn, token=program.points, holder=addr)
        lots = queries.live_lots(conn, program.points, addr)
        ps = queries.pass_of(conn, contract=program.pass_, owner=addr)
        history = _pass_history(conn, program, int(ps["token_id"])) if ps else []
        referral = _referral(conn, bid, addr)
        orders = (
            conn.execute(
                select(T_EARN)
                .where(
                    T_EARN.c.brand_id == bid, or_(T_EARN.c.member == addr, T_EARN.c.member == low)
                )
                .order_by(T_EARN.c.ordered_at.desc())
                .limit(SHOWN)
            )
            .mappings()
            .all()
        )
        redemptions = (
            conn.execute(
                select(T_REDEEM)
                .where(T_REDEEM.c.brand_id == bid, T_REDEEM.c.member == addr)
                .order_by(T_REDEEM.c.id.desc())
                .limit(SHOWN)
            )
            .mappings()
            .all()
        )
        buyers = brand_buyers(conn, bid, now)
        buyer = next((b for b in buyers if b.member.lower() == low), None)
        scores = None
        if buyer is not None:
            gap = churn.typical_gap(buyers)
            r = churn.risk(
                buyer, as_of=now, brand_gap=gap, hazard=churn.monthly_hazard(buyers, now, gap)
            )
            scores = {"churn": r.__dict__, "rfm": churn.rfm(buyers, as_of=now).get(buyer.member)}
    consent = bool(profile and profile.get("consent"))
    notes = [
        {k: n[k] for k in ("id", "kind", "channel", "state", "attempts", "created_at", "sent_at")}
        | ({"subject": n["subject"]} if consent else {})
        for n in notify.member_notifications(engine=engine, brand_id=bid, member=addr)[:SHOWN]
    ]
    return {
        "member": addr,
        "brand_id": bid,
        "profile": profile,
        "referral": referral,
        "balance": balance,
        "lots": lots,
        "pass": None if ps is None else {k: int(ps[k]) for k in ("token_id", "tier", "expires_at")},
        "pass_history": history,
        "orders": [dict(o) for o in orders],
        "redemptions": [dict(r) for r in redemptions],
        "notifications": notes,
        "scores": scores,
    }


def profiles_table(*, engine: Engine, brand_id: str) -> list[dict[str, Any]]:
    """The brand's profiles as it may see them (consented ones in full), for the CSV export."""
    with engine.connect() as conn:
        rows = conn.execute(select(T_PROFILE).where(T_PROFILE.c.brand_id == brand_id)).mappings()
        return [v for v in (profiles.brand_view(dict(r)) for r in rows) if v is not None]
