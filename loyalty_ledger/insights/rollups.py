"""The points economy from the rollups of the history: the indexer's (`ledger_month`,
`gift_party`) and the one triggers keep (`earn_placed`: earnings' points per month of their
time and of their block): a few rows per program and month instead of a scan of every entry.

The rollups are kept by the indexer with the entries; a history written without it (a test's
or a benchmark's fixtures) has none, and `covers` says so: the queries then read the entries
themselves. Sums are taken in Python (exact for any amount, on SQLite too).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, func, select

from ..store.insights_tables import T_EARN_PLACED as T_PLACED
from ..store.models import GiftParty, LedgerEntry, LedgerMonth
from .earn_facts import any_record
from .period import Period, month_start

T_MONTH = LedgerMonth.__table__  # type: ignore[attr-defined]
T_PARTY = GiftParty.__table__  # type: ignore[attr-defined]
T_ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]
FLOW_KINDS = {
    "issue": "issued_by_block",
    "swap_in": "swapped_in",
    "swap_out": "swapped_out",
    "redeem": "redeemed",
    "forfeit": "forfeited",
}


def covers(conn: Connection, *, token: str) -> bool:
    """Whether the rollups hold this program's history (the indexer wrote it)."""
    q = select(T_MONTH.c.month).where(T_MONTH.c.token == token.lower()).limit(1)
    return conn.execute(q).first() is not None


def ledger_totals(conn: Connection, *, token: str) -> tuple[dict[str, int], dict[str, int]]:
    """Points and entry counts per kind, all time (entries that moved points)."""
    totals: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    q = select(T_MONTH.c.kind, T_MONTH.c.entries, T_MONTH.c.amount).where(
        T_MONTH.c.token == token.lower()
    )
    for kind, n, amount in conn.execute(q):
        counts[kind] += int(n)
        totals[kind] += int(amount)
    return dict(totals), dict(counts)


def gift_parties(conn: Connection, *, token: str) -> tuple[int, int]:
    """Distinct members who sent, and who received, at least one gift."""
    t = T_PARTY
    senders = conn.execute(
        select(func.count()).where(t.c.token == token.lower(), t.c.sent > 0)
    ).scalar()
    receivers = conn.execute(
        select(func.count()).where(t.c.token == token.lower(), t.c.received > 0)
    ).scalar()
    return int(senders or 0), int(receivers or 0)


def _any_entry(conn: Connection, token: str, lo: int, hi: int) -> bool:
    """Whether any entry of the program has a block time in [lo, hi)."""
    if lo >= hi:
        return False
    t = T_ENTRY.c.block_time
    q = select(T_ENTRY.c.id).where(T_ENTRY.c.token == token, t >= lo, t < hi).limit(1)
    return conn.execute(q).first() is not None


def whole_months(conn: Connection, *, token: str, brand_id: str, period: Period) -> bool:
    """Whether the period's months, read whole, hold what the period does: nothing (no entry of
    the program, no earn record of the brand) lies in the parts of its edge months it leaves
    out (the usual case for a period that ends in the future)."""
    months = period.months()
    cuts = [(month_start(months[0]), period.start), (period.end, month_start(months[-1] + 1))]
    return not any(
        _any_entry(conn, token, lo, hi) or any_record(conn, brand_id, lo, hi) for lo, hi in cuts
    )


def month_flows(
    conn: Connection, *, token: str, brand_id: str, period: Period
) -> dict[int, dict[str, int]] | None:
    """Per month of the period, the flows of `ledger_queries.month_flows` but the expiry (each
    kind by block time, the earn records' points moved to their own time) from the rollups;
    None when they cannot answer (no rollups, or a period that cuts a month's rows)."""
    token = token.lower()
    if not covers(conn, token=token) or not whole_months(
        conn, token=token, brand_id=brand_id, period=period
    ):
        return None
    months = period.months()
    per: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    q = select(T_MONTH.c.month, T_MONTH.c.kind, T_MONTH.c.amount).where(
        T_MONTH.c.token == token,
        T_MONTH.c.kind.in_(FLOW_KINDS),
        T_MONTH.c.month.between(months[0], months[-1]),
    )
    for m, kind, amount in conn.execute(q):
        per[int(m)][FLOW_KINDS[kind]] += int(amount)
    p = T_PLACED.c
    mine = (p.brand_id == brand_id, p.token == token)
    q2 = select(p.month, func.sum(p.points)).where(*mine, p.month.between(months[0], months[-1]))
    for m, pts in conn.execute(q2.group_by(p.month)):
        per[int(m)]["issued_by_event"] += int(pts or 0)
    q3 = select(p.block_month, func.sum(p.points)).where(
        *mine, p.block_month.between(months[0], months[-1])
    )
    for m, pts in conn.execute(q3.group_by(p.block_month)):
        per[int(m)]["issued_by_block"] -= int(pts or 0)
    return per
