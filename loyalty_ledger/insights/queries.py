"""The SQL shell of the insights: aggregates from the earn records, survey answers and mirror.

Every query aggregates in SQL (per member, per month, per kind) so that the Python side handles
thousands of rows, not the raw history.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from ..store.insights_tables import T_SURVEY
from ..store.models import Balance, ContractState, LedgerEntry, Pass, PointLot, Tier
from ..store.offchain import EarnRecord, table
from . import rollups
from .metrics import CustomerStats, MonthFlows, MonthStats
from .period import Period, month_index, month_start

T_EARN = table(EarnRecord)
T_ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]
T_BAL = Balance.__table__  # type: ignore[attr-defined]
T_STATE = ContractState.__table__  # type: ignore[attr-defined]
T_PASS = Pass.__table__  # type: ignore[attr-defined]
T_TIER = Tier.__table__  # type: ignore[attr-defined]
T_LOT = PointLot.__table__  # type: ignore[attr-defined]

# Purchase time is the order's own (POS) time, not when the brand recorded the earning.
earn_time = T_EARN.c.ordered_at


def month_of(conn: Connection, ts: Any, months: list[int]) -> ColumnElement[int]:
    """SQL: the month index (year * 12 + month - 1, UTC) of a Unix-seconds column whose values
    fall in `months` (consecutive)."""
    # Comparisons with the known month starts cost far less per row than calendar functions
    # (strftime on SQLite, extract(to_timestamp) on PostgreSQL).
    if len(months) == 1:
        return literal(months[0], Integer)
    return case(*[(ts >= month_start(m), m) for m in reversed(months[1:])], else_=months[0])


def _sum_u256(conn: Connection, col: Any) -> Any:
    # SQLite keeps uint256 as decimal text: CAST sums exactly up to 2**63 - 1 points.
    if conn.dialect.name == "postgresql":
        return func.sum(col)
    return func.sum(cast(col, BigInteger))


def _purchases(brand_id: str, currency: str, period: Period) -> ColumnElement[bool]:
    return and_(
        T_EARN.c.brand_id == brand_id,
        T_EARN.c.reason == "purchase",
        T_EARN.c.status == "confirmed",
        T_EARN.c.currency == currency,
        T_EARN.c.order_amount.is_not(None),
        earn_time >= period.start,
        earn_time < period.end,
    )


def customer_stats(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> list[CustomerStats]:
    """Orders, spend and items per customer who bought in the period."""
    q = (
        select(
            T_EARN.c.member,
            func.count(),
            func.sum(T_EARN.c.order_amount),
            func.sum(func.coalesce(T_EARN.c.items_count, 0)),
        )
        .where(_purchases(brand_id, currency, period))
        .group_by(T_EARN.c.member)
    )
    return [CustomerStats(m, int(n), int(s or 0), int(i or 0)) for m, n, s, i in conn.execute(q)]


def month_stats(
    conn: Connection, *, brand_id: str, currency: str, period: Period
) -> list[MonthStats]:
    """Orders, revenue, items and customers per calendar month (every month, zeros included)."""
    month = month_of(conn, earn_time, period.months()).label("m")
    q = (
        select(
            month,
            func.count(),
            func.sum(T_EARN.c.order_amount),
            func.sum(func.coalesce(T_EARN.c.items_count, 0)),
            func.count(func.distinct(T_EARN.c.member)),
        )
        .where(_purchases(brand_id, currency, period))
        .group_by(month)
    )
    rows = {int(m): (int(n), int(r or 0), int(i or 0), int(c)) for m, n, r, i, c in conn.execute(q)}
    return [MonthStats(m, *rows.get(m, (0, 0, 0, 0))) for m in period.months()]


def _activity(brand_id: str) -> ColumnElement[bool]:
    return and_(T_EARN.c.brand_id == brand_id, T_EARN.c.status == "confirmed")


def active_before_and_during(
    conn: Connection, *, brand_id: str, period: Period
) -> tuple[set[str], set[str]]:
    """Members with any earn record (purchase or action) in the previous period of the same
    length, and in the period itself (one scan)."""
    prev = period.previous()
    before = func.max(case((earn_time < period.start, 1), else_=0))
    during = func.max(case((earn_time >= period.start, 1), else_=0))
    q = (
        select(T_EARN.c.member, before, during)
        .where(_activity(brand_id), earn_time >= prev.start, earn_time < period.end)
        .group_by(T_EARN.c.member)
    )
    was, now = set(), set()
    for member, b, d in conn.execute(q):
        if b:
            was.add(member)
        if d:
            now.add(member)
    return was, now


def activity_months(conn: Connection, *, brand_id: str, period: Period) -> dict[str, set[int]]:
    """The months each member was active in, from the month before the period to its end."""
    start = period.months()[0]
    month = month_of(conn, earn_time, [start - 1, *period.months()]).label("m")
    q = (
        select(T_EARN.c.member, month)
        .where(_activity(brand_id), earn_time >= month_start(start - 1), earn_time < period.end)
        .group_by(T_EARN.c.member, month)
    )
    active: dict[str, set[int]] = defaultdict(set)
    for member, m in conn.execute(q):
        active[member].add(int(m))
    return dict(active)


def first_months(conn: Connection, *, brand_id: str, period: Period) -> dict[str, int]:
    """Each member's first month of activity ever (members first seen before the period ends)."""
    q = (
        select(T_EARN.c.member, func.min(earn_time))
        .where(_activity(brand_id), earn_time < period.end)
        .group_by(T_EARN.c.member)
    )
    return {member: month_index(int(t)) for member, t in conn.execute(q)}


def survey_scores(conn: Connection, *, brand_id: str, period: Period) -> list[tuple[int, int]]:
    """(month, score) of every NPS answer in the period."""
    month = month_of(conn, T_SURVEY.c.answered_at, period.months()).label("m")
    q = (
        select(month, T_SURVEY.c.score, func.count())
        .where(
            T_SURVEY.c.brand_id == brand_id,
            T_SURVEY.c.answered_at >= period.start,
            T_SURVEY.c.answered_at < period.end,
        )
        .group_by(month, T_SURVEY.c.score)
    )
    out: list[tuple[int, int]] = []
    for m, score, n in conn.execute(q):
        out.extend([(int(m), int(score))] * int(n))
    return out


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


FLOW_KINDS = {
    "issue": "issued",
    "swap_in": "swapped_in",
    "swap_out": "swapped_out",
    "redeem": "redeemed",
    "forfeit": "forfeited",
}


def month_flows(
    conn: Connection, *, token: str, period: Period, now: int | None = None
) -> list[MonthFlows]:
    """Per calendar month of the period: points issued, swapped in and out, redeemed and
    forfeited (ledger entries by block time) and expired (lots by expiry time, up to `now`)."""
    now = int(time.time()) if now is None else now
    months = period.months()
    per: dict[int, dict[str, int]] = defaultdict(dict)
    whole = period.start == month_start(months[0]) and period.end == month_start(months[-1] + 1)
    if whole and rollups.covers(conn, token=token):  # whole months: the rollups have them
        got = rollups.month_amounts(conn, token=token, months=months, kinds=list(FLOW_KINDS))
        for m, kinds in got.items():
            per[m] = {FLOW_KINDS[k]: v for k, v in kinds.items()}
    else:
        t = T_ENTRY.c.block_time
        month = month_of(conn, t, months).label("m")
        q = (
            select(month, T_ENTRY.c.kind, _sum_u256(conn, T_ENTRY.c.amount))
            .where(
                T_ENTRY.c.token == token.lower(),
                T_ENTRY.c.kind.in_(FLOW_KINDS),
                t >= period.start,
                t < period.end,
            )
            .group_by(month, T_ENTRY.c.kind)
        )
        for m, kind, s in conn.execute(q):
            per[int(m)][FLOW_KINDS[kind]] = int(s or 0)
    exp = T_LOT.c.expires_at
    lot_month = month_of(conn, exp, months).label("m")
    q = (
        select(lot_month, _sum_u256(conn, T_LOT.c.amount))
        .where(_lot_expired(conn, token, now), exp >= period.start, exp < period.end)
        .group_by(lot_month)
    )
    for m, s in conn.execute(q):
        per[int(m)]["expired"] = int(s or 0)
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
