"""Mirror reads of the expiry and exchange endpoints: a member's lots, the lots expiring soon, the
exchanges. A lot is live while its expiry epoch is past the mirror's sweep and its expiry time is
past `now`; every answer says the block it is true as of."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Engine, and_, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.revert import decode_brand_id
from loyalty_ledger.ledger.exchange import ExchangeInfo
from loyalty_ledger.store.models import Balance, ContractState, Exchange, IndexerState, PointLot
from loyalty_ledger.validate import checksum_address

T_LOT = PointLot.__table__  # type: ignore[attr-defined]
T_BAL = Balance.__table__  # type: ignore[attr-defined]
T_CS = ContractState.__table__  # type: ignore[attr-defined]
T_IDX = IndexerState.__table__  # type: ignore[attr-defined]
T_EX = Exchange.__table__  # type: ignore[attr-defined]
DAY = 86_400


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _block(conn: Connection) -> int | None:
    return conn.execute(select(T_IDX.c.checkpoint_block).where(T_IDX.c.id == 1)).scalar()


def _swept(conn: Connection, token: str) -> int:
    swept = conn.execute(select(T_CS.c.swept_epoch).where(T_CS.c.address == token)).scalar()
    return int(swept or 0)


def _sum(conn: Connection, col: Any) -> Any:
    # SQLite keeps uint256 as decimal text: CAST sums exactly up to 2**63 - 1 points.
    return func.sum(col if conn.dialect.name == "postgresql" else cast(col, BigInteger))


def _live(conn: Connection, token: str, now: int) -> ColumnElement[bool]:
    return and_(
        T_LOT.c.token == token,
        T_LOT.c.expiry_epoch > _swept(conn, token),
        T_LOT.c.expires_at > now,
    )


def member_lots(*, engine: Engine, program: Program, address: str, now: int) -> dict[str, Any]:
    """A member's live lots (soonest first), permanent points and total in one program."""
    addr = checksum_address(address)
    token, holder = program.points.lower(), addr.lower()
    with engine.connect() as conn:
        block = _block(conn)
        swept = _swept(conn, token)
        held = conn.execute(
            select(T_BAL.c.amount).where(T_BAL.c.token == token, T_BAL.c.holder == holder)
        ).scalar()
        rows = conn.execute(
            select(T_LOT.c.expiry_epoch, T_LOT.c.expires_at, T_LOT.c.amount)
            .where(T_LOT.c.token == token, T_LOT.c.holder == holder, T_LOT.c.expiry_epoch > swept)
            .order_by(T_LOT.c.expiry_epoch)
        ).all()
    balance = int(held or 0)
    in_lots = sum(int(a) for _x, _t, a in rows)
    # Lots dead by the clock that the mirror has not swept out of the balance yet.
    dead = sum(int(a) for _x, t, a in rows if int(t) <= now)
    lots = [
        {
            "expiry_epoch": int(x),
            "expires_at": iso(int(t)),
            "expires_at_unix": int(t),
            "amount": int(a),
        }
        for x, t, a in rows
        if int(t) > now
    ]
    return {
        "address": addr,
        "brand_id": program.brand_id,
        "lots": lots,
        "permanent": balance - in_lots,
        "total": balance - dead,
        "as_of_block": block,
        "as_of_time": now,
    }


def expiring(
    *, engine: Engine, program: Program, days: int, now: int, limit: int, after: str | None
) -> dict[str, Any]:
    """Members with points expiring in (now, now + days], by address; `after` pages on."""
    token = program.points.lower()
    until = now + days * DAY
    with engine.connect() as conn:
        block = _block(conn)
        window = and_(_live(conn, token, now), T_LOT.c.expires_at <= until)
        members, points = conn.execute(
            select(func.count(func.distinct(T_LOT.c.holder)), _sum(conn, T_LOT.c.amount)).where(
                window
            )
        ).one()
        page = select(T_LOT.c.holder, func.min(T_LOT.c.expires_at), func.count()).where(window)
        if after is not None:
            page = page.where(T_LOT.c.holder > checksum_address(after).lower())
        heads = conn.execute(
            page.group_by(T_LOT.c.holder).order_by(T_LOT.c.holder).limit(limit + 1)
        ).all()
        more, heads = len(heads) > limit, heads[:limit]
        amounts: dict[str, int] = {}
        if heads:
            q = select(T_LOT.c.holder, T_LOT.c.amount).where(
                window, T_LOT.c.holder.in_([h for h, _t, _n in heads])
            )
            for h, a in conn.execute(q):
                amounts[h] = amounts.get(h, 0) + int(a)
    rows = [
        {
            "member": checksum_address(h),
            "amount": amounts.get(h, 0),
            "lots": int(n),
            "soonest_expiry": iso(int(t)),
            "soonest_expiry_unix": int(t),
        }
        for h, t, n in heads
    ]
    return {
        "brand_id": program.brand_id,
        "days": days,
        "window": {"from": iso(now), "to": iso(until), "start": now, "end": until},
        "members_total": int(members or 0),
        "points_total": int(points or 0),
        "members": rows,
        "next_after": rows[-1]["member"] if more and rows else None,
        "as_of_block": block,
    }


def _brand(raw: str) -> str:
    return decode_brand_id(bytes.fromhex(raw[2:])) if raw.startswith("0x") else raw


def exchanges(*, engine: Engine) -> dict[str, Any]:
    """Every exchange the mirror knows, by id, with its status and remaining budget."""
    with engine.connect() as conn:
        block = _block(conn)
        rows = conn.execute(select(T_EX).order_by(T_EX.c.id)).mappings().all()
    out = []
    for r in rows:
        info = ExchangeInfo(
            id=int(r["id"]),
            from_brand=_brand(r["from_brand"]),
            to_brand=_brand(r["to_brand"]),
            rate_from=int(r["rate_from"]),
            rate_to=int(r["rate_to"]),
            daily_cap=int(r["daily_cap"]),
            budget=int(r["budget"]),
            issued=int(r["issued"]),
            approved_from=bool(r["approved_from"]),
            approved_to=bool(r["approved_to"]),
            paused_from=bool(r["paused_from"]),
            paused_to=bool(r["paused_to"]),
            paused_operator=bool(r["paused_operator"]),
        )
        out.append(info.as_dict() | {"remaining_budget": info.budget - info.issued})
    return {"exchanges": out, "as_of_block": block}
