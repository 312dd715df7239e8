"""The SQL shell of the points economy: totals, expiry, liability, monthly flows and tiers from
the mirror, with the earn records to place purchase points at the order's time."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy import BigInteger, Connection, and_, case, cast, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..store.models import Balance, ContractState, LedgerEntry, Pass, PointLot, Tier
from . import rollups
from .economy import MonthFlows
from .period import Period
from .queries import T_EARN, month_of

T_ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]
T_BAL = Balance.__table__  # type: ignore[attr-defined]
T_STATE = ContractState.__table__  # type: ignore[attr-defined]
T_PASS = Pass.__table__  # type: ignore[attr-defined]
T_TIER = Tier.__table__  # type: ignore[attr-defined]
T_LOT = PointLot.__table__  # type: ignore[attr-defined]


def _sum_u256(conn: Connection, col: Any) -> Any:
    # SQLite keeps uint256 as decimal text: CAST sums exactly up to 2**63 - 1 points.
    if conn.dialect.name == "postgresql":
        return func.sum(col)
    return func.sum(cast(col, BigInteger))


def ledger_totals(conn: Connection, *, token: str) -> tuple[dict[str, int], dict[str, int]]:
    """Points and entry counts per ledger kind (issue, redeem, forfeit, gift, transfer, …).

    A transfer of 0 points (a valid ERC-20 transfer, kept in the history) moved nothing and is
    not counted. From the indexer's rollups when it kept them."""
    if rollups.covers(conn, token=token):
        return rollups.ledger_totals(conn, token=token)
    q = (
        select(T_ENTRY.c.kind, func.count(), _sum_u256(conn, T_ENTRY.c.amount))
        .where(T_ENTRY.c.token == token.lower(), T_ENTRY.c.amount != 0)
        .group_by(T_ENTRY.c.kind)
    )
    totals: dict[str, int] = {}
    counts: dict[str, int] = {}
    for kind, n, s in conn.execute(q):
        counts[kind], totals[kind] = int(n), int(s or 0)
    return totals, counts


def gift_parties(conn: Connection, *, token: str) -> tuple[int, int]:
    """Distinct members who sent, and who received, at least one gift."""
    if rollups.covers(conn, token=token):
        return rollups.gift_parties(conn, token=token)
    where = and_(T_ENTRY.c.token == token.lower(), T_ENTRY.c.kind == "gift")
    senders = conn.execute(
        select(func.count(func.distinct(T_ENTRY.c.account))).where(where)
    ).scalar()
    receivers = conn.execute(
        select(func.count(func.distinct(T_ENTRY.c.counterparty))).where(where)
    ).scalar()
    return int(senders or 0), int(receivers or 0)


def _swept(conn: Connection, token: str) -> int:
    """The epoch up to which the mirror swept expired lots out of the balances."""
    swept = conn.execute(
        select(T_STATE.c.swept_epoch).where(T_STATE.c.address == token.lower())
    ).scalar()
    return int(swept or 0)


def _lot_expired(conn: Connection, token: str, now: int) -> ColumnElement[bool]:
    """Lots whose points expired: by the clock (`now`), or already swept by the mirror."""
    return and_(
        T_LOT.c.token == token.lower(),
        or_(
            T_LOT.c.expires_at <= now,
            T_LOT.c.expiry_epoch <= _swept(conn, token),
        ),
    )


def expired_total(conn: Connection, *, token: str, now: int | None = None) -> int:
    """Points that expired unspent, all time, as of `now`."""
    now = int(time.time()) if now is None else now
    s = conn.execute(
        select(_sum_u256(conn, T_LOT.c.amount)).where(_lot_expired(conn, token, now))
    ).scalar()
    return int(s or 0)


def liability(conn: Connection, *, token: str, now: int | None = None) -> int:
    """Live points outstanding (Σ balanceOf as of `now`): the mirror's balances less lots that
    expired by the clock but that the mirror has not swept out of them yet."""
    now = int(time.time()) if now is None else now
    held = conn.execute(
        select(_sum_u256(conn, T_BAL.c.amount)).where(T_BAL.c.token == token.lower())
    ).scalar()
    unswept = conn.execute(
        select(_sum_u256(conn, T_LOT.c.amount)).where(
            T_LOT.c.token == token.lower(),
            T_LOT.c.expires_at <= now,
            T_LOT.c.expiry_epoch > _swept(conn, token),
        )
    ).scalar()
    return int(held or 0) - int(unswept or 0)


FLOW_KINDS = rollups.FLOW_KINDS


def _earned(brand_id: str) -> ColumnElement[bool]:
    """Confirmed earn records of the brand that issued points in a transaction."""
    return and_(
        T_EARN.c.brand_id == brand_id,
        T_EARN.c.status == "confirmed",
        T_EARN.c.points > 0,
        T_EARN.c.block_number.is_not(None),
    )


def _bucket(col: Any, ranges: dict[int, tuple[int, int]]) -> ColumnElement[int]:
    """SQL: the month whose [first, last] block range holds `col`, else -1."""
    if not ranges:
        return literal(-1)
    return case(*[(and_(col >= lo, col <= hi), m) for m, (lo, hi) in ranges.items()], else_=-1)


def _earnings_placed(
    conn: Connection, brand_id: str, token: str, period: Period, ranges: dict[int, tuple[int, int]]
) -> tuple[dict[int, int], dict[int, int]]:
    """The points of earn records whose block holds issues of the token in the mirror, per
    month of the earning's own time, and per month of that block (from `ranges`, each month's
    first and last block of the period)."""
    t, blk = T_EARN.c.ordered_at, T_EARN.c.block_number
    inside = and_(t >= period.start, t < period.end)
    by_time = case((inside, month_of(conn, t, period.months())), else_=-1).label("em")
    by_block = _bucket(blk, ranges).label("bm")
    near = [inside]
    if ranges:
        near.append(
            blk.between(min(lo for lo, _ in ranges.values()), max(ranges[m][1] for m in ranges))
        )
    issue_blocks = select(T_ENTRY.c.block_number).where(
        T_ENTRY.c.token == token.lower(), T_ENTRY.c.kind == "issue"
    )
    q = (
        select(by_time, by_block, func.sum(T_EARN.c.points))
        .where(_earned(brand_id), or_(*near), blk.in_(issue_blocks))
        .group_by(by_time, by_block)
    )
    event: dict[int, int] = defaultdict(int)
    block: dict[int, int] = defaultdict(int)
    for em, bm, pts in conn.execute(q):
        if int(em) >= 0:
            event[int(em)] += int(pts or 0)
        if int(bm) >= 0:
            block[int(bm)] += int(pts or 0)
    return event, block


def _flows_from_history(
    conn: Connection, token: str, brand_id: str, period: Period
) -> dict[int, dict[str, int]]:
    """The month flows but the expiry, read from the entries and earn records themselves."""
    months = period.months()
    t = T_ENTRY.c.block_time
    month = month_of(conn, t, months).label("m")
    q = (
        select(
            month,
            T_ENTRY.c.kind,
            _sum_u256(conn, T_ENTRY.c.amount),
            func.min(T_ENTRY.c.block_number),
            func.max(T_ENTRY.c.block_number),
        )
        .where(
            T_ENTRY.c.token == token.lower(),
            T_ENTRY.c.kind.in_(FLOW_KINDS),
            t >= period.start,
            t < period.end,
        )
        .group_by(month, T_ENTRY.c.kind)
    )
    per: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    ranges: dict[int, tuple[int, int]] = {}
    for m, kind, s, lo, hi in conn.execute(q):
        per[int(m)][FLOW_KINDS[kind]] += int(s or 0)
        old = ranges.get(int(m), (int(lo), int(hi)))
        ranges[int(m)] = (min(old[0], int(lo)), max(old[1], int(hi)))
    event, block = _earnings_placed(conn, brand_id, token, period, ranges)
    for m, pts in event.items():
        per[m]["issued_by_event"] += pts
    for m, pts in block.items():
        per[m]["issued_by_block"] -= pts
    return per


def month_flows(
    conn: Connection, *, token: str, brand_id: str, period: Period, now: int | None = None
) -> list[MonthFlows]:
    """Per calendar month of the period: points issued (an earn record's at its own time, the
    rest at block time), swapped in and out, redeemed and forfeited (block time) and expired
    (lots by expiry time, up to `now`).

    An earn record is matched to the mirror by the block its receipt named: when that block
    holds issues of the token, its points leave that block's month for the earning's. From the
    rollups (`insights.rollups`) when they hold the period's months whole."""
    now = int(time.time()) if now is None else now
    months = period.months()
    per = rollups.month_flows(conn, token=token, brand_id=brand_id, period=period)
    if per is None:
        per = _flows_from_history(conn, token, brand_id, period)
    exp = T_LOT.c.expires_at
    lot_month = month_of(conn, exp, months).label("m")
    q = (
        select(lot_month, _sum_u256(conn, T_LOT.c.amount))
        .where(_lot_expired(conn, token, now), exp >= period.start, exp < period.end)
        .group_by(lot_month)
    )
    for m, s in conn.execute(q):
        per[int(m)]["expired"] += int(s or 0)
    return [MonthFlows(m, **per.get(m, {})) for m in months]


def tier_distribution(
    conn: Connection, *, pass_address: str, now: int | None = None
) -> list[dict[str, object]]:
    """Passes per tier (every defined tier, zeros included): all, active, expired."""
    now = int(time.time()) if now is None else now
    contract = pass_address.lower()
    names = {
        int(t): n
        for t, n in conn.execute(
            select(T_TIER.c.tier, T_TIER.c.name).where(T_TIER.c.contract == contract)
        )
    }
    exp = T_PASS.c.expires_at
    if conn.dialect.name != "postgresql":
        exp = cast(exp, BigInteger)
    live = case((or_(exp == 0, exp > now), 1), else_=0)
    q = (
        select(T_PASS.c.tier, func.count(), func.sum(live))
        .where(T_PASS.c.contract == contract)
        .group_by(T_PASS.c.tier)
    )
    counts = {int(t): (int(n), int(a or 0)) for t, n, a in conn.execute(q)}
    out = []
    for tier in sorted(set(names) | set(counts)):
        n, a = counts.get(tier, (0, 0))
        out.append(
            {
                "tier": tier,
                "name": names.get(tier, f"tier {tier}"),
                "passes": n,
                "active": a,
                "expired": n - a,
            }
        )
    return out
