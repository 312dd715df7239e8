"""The points economy from the indexer's rollups of the history (`ledger_month`, `gift_party`):
a few rows per program and month instead of a scan of every entry.

The rollups are kept by the indexer with the entries; a history written without it (a test's
or a benchmark's fixtures) has none, and `covers` says so: the queries then read the entries
themselves. Sums are taken in Python (exact for any amount, on SQLite too).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, func, select

from ..store.models import GiftParty, LedgerMonth

T_MONTH = LedgerMonth.__table__  # type: ignore[attr-defined]
T_PARTY = GiftParty.__table__  # type: ignore[attr-defined]


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
