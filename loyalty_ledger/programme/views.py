"""Read views of the SQL mirror for the API: a member's holdings, ledger pages, sync status."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, or_, select

from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.programme.history import describe
from loyalty_ledger.store.models import Balance, IndexerState, LedgerEntry, Member, Pass, Tier
from loyalty_ledger.validate import checksum_address

T_BAL = Balance.__table__  # type: ignore[attr-defined]
T_PASS = Pass.__table__  # type: ignore[attr-defined]
T_TIER = Tier.__table__  # type: ignore[attr-defined]
T_MEMBER = Member.__table__  # type: ignore[attr-defined]
T_ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]
T_STATE = IndexerState.__table__  # type: ignore[attr-defined]
MAX_PAGE = 200


def mirror_state(*, engine: Engine) -> dict[str, Any] | None:
    """The indexer checkpoint row (None before the first run)."""
    with engine.connect() as conn:
        row = conn.execute(select(T_STATE).where(T_STATE.c.id == 1)).mappings().first()
    return dict(row) if row else None


def tier_names(*, engine: Engine, pass_contract: str) -> list[dict[str, Any]]:
    """The tiers a pass contract defined, by number, with their names (from the mirror)."""
    q = select(T_TIER.c.tier, T_TIER.c.name).where(T_TIER.c.contract == pass_contract.lower())
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(T_TIER.c.tier)).all()
    return [{"tier": int(t), "name": n} for t, n in rows]


def member_summary(
    *, engine: Engine, deployment: Deployment, address: str, brand_ids: list[str] | None = None
) -> dict[str, Any]:
    """Registration, and per brand: balance, pass, tier, expiry (mirror, with its block)."""
    addr = checksum_address(address)
    low = addr.lower()
    now = int(time.time())
    brands = brand_ids if brand_ids is not None else sorted(deployment.programs)
    with engine.connect() as conn:
        state = conn.execute(select(T_STATE.c.checkpoint_block).where(T_STATE.c.id == 1)).scalar()
        m = conn.execute(select(T_MEMBER).where(T_MEMBER.c.address == low)).mappings().first()
        programs = []
        for bid in brands:
            p = deployment.program(bid)
            bal = conn.execute(
                select(T_BAL.c.amount).where(
                    T_BAL.c.token == p.points.lower(), T_BAL.c.holder == low
                )
            ).scalar()
            ps = (
                conn.execute(
                    select(T_PASS).where(
                        T_PASS.c.contract == p.pass_.lower(), T_PASS.c.owner == low
                    )
                )
                .mappings()
                .first()
            )
            pass_info = None
            if ps is not None:
                name = conn.execute(
                    select(T_TIER.c.name).where(
                        T_TIER.c.contract == p.pass_.lower(), T_TIER.c.tier == ps["tier"]
                    )
                ).scalar()
                exp = int(ps["expires_at"])
                pass_info = {
                    "token_id": int(ps["token_id"]),
                    "tier": int(ps["tier"]),
                    "tier_name": name,
                    "expires_at": exp,
                    "active": exp == 0 or exp > now,
                    "locked": bool(ps["locked"]),
                }
            programs.append({"brand_id": bid, "balance": int(bal or 0), "pass": pass_info})
    return {
        "address": addr,
        "registered": bool(m and m["registered"]),
        "frozen": bool(m and m["frozen"]),
        "recovered_to": m["recovered_to"] if m else None,
        "programs": programs,
        "as_of_block": state,
    }


def ledger_page(
    *,
    engine: Engine,
    token: str,
    account: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> dict[str, Any]:
    """Newest-first ledger entries of a token (optionally of one account), keyset-paged; each
    with its block's `time` (ISO 8601) and a readable `note` (memo, perk, swap terms)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    q = select(T_ENTRY).where(T_ENTRY.c.token == token.lower())
    if account is not None:
        low = checksum_address(account).lower()
        q = q.where(or_(T_ENTRY.c.account == low, T_ENTRY.c.counterparty == low))
    if before_id is not None:
        q = q.where(T_ENTRY.c.id < before_id)
    q = q.order_by(T_ENTRY.c.id.desc()).limit(limit + 1)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
        state = conn.execute(select(T_STATE.c.checkpoint_block).where(T_STATE.c.id == 1)).scalar()
        more = len(rows) > limit
        rows = describe(conn, rows[:limit])
    return {
        "entries": rows,
        "next_before": rows[-1]["id"] if more and rows else None,
        "as_of_block": state,
    }
