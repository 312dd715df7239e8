"""Rollups of the points history, folded into the sink's cache with the entries they summarise
(so they are written in the same transaction and journaled for reorgs like any derived row):
`ledger_month` (entries that moved points, and their sum, per program, month and kind) and
`gift_party` (gifts sent and received per program and member)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from ..store import bulk
from .cache import Cache
from .derive import TABLES
from .rows import LEDGER
from .rows import TABLES as STORED
from .state import Key

LEDGER_MONTH = "ledger_month"
GIFT_PARTY = "gift_party"


def month_of(ts: int | None) -> int:
    """The UTC calendar month of a block time (year * 12 + month - 1); -1 when unknown."""
    if ts is None:
        return -1
    d = datetime.fromtimestamp(ts, UTC)
    return d.year * 12 + d.month - 1


def keys(entries: list[dict[str, Any]]) -> dict[str, set[Key]]:
    """The rollup rows a batch of ledger entries changes."""
    need: dict[str, set[Key]] = {LEDGER_MONTH: set(), GIFT_PARTY: set()}
    for e in entries:
        if int(e["amount"]):
            need[LEDGER_MONTH].add((e["token"], month_of(e["block_time"]), e["kind"]))
        if e["kind"] == "gift":
            need[GIFT_PARTY].add((e["token"], e["account"]))
            if e["counterparty"] is not None:
                need[GIFT_PARTY].add((e["token"], e["counterparty"]))
    return need


def fold(cache: Cache, entries: list[dict[str, Any]]) -> None:
    """Add a batch of new ledger entries to the rollups (each change journaled at its block)."""
    for e in entries:
        b = e["block_number"]
        if amount := int(e["amount"]):
            key = (e["token"], month_of(e["block_time"]), e["kind"])
            row = cache.get(LEDGER_MONTH, key) or TABLES[LEDGER_MONTH][1]
            new = {"entries": row["entries"] + 1, "amount": int(row["amount"]) + amount}
            cache.put(LEDGER_MONTH, key, new, b)
        if e["kind"] == "gift":
            sides = [(e["account"], "sent"), (e["counterparty"], "received")]
            for who, side in sides:
                if who is None:
                    continue
                party = (e["token"], who)
                row = dict(cache.get(GIFT_PARTY, party) or TABLES[GIFT_PARTY][1])
                row[side] += 1
                cache.put(GIFT_PARTY, party, row, b)


def relabel(cache: Cache, moved: list[tuple[str, int | None, int, int]], frm: str, to: str) -> None:
    """Entries (token, block time, amount, block) relabelled from kind `frm` to `to`."""
    for token, block_time, amount, block in moved:
        if not int(amount):
            continue
        month = month_of(block_time)
        for kind, sign in ((frm, -1), (to, 1)):
            key = (token, month, kind)
            row = cache.get(LEDGER_MONTH, key) or TABLES[LEDGER_MONTH][1]
            new = {
                "entries": row["entries"] + sign,
                "amount": int(row["amount"]) + sign * int(amount),
            }
            cache.put(LEDGER_MONTH, key, new if new["entries"] else None, block)


def relabel_keys(moved: list[tuple[str, int | None, int, int]], *kinds: str) -> set[Key]:
    return {(t, month_of(bt), k) for t, bt, a, _b in moved if int(a) for k in kinds}


def rebuild(conn: Connection) -> None:
    """Recompute both rollups from the whole history (for histories written without the
    indexer, e.g. a benchmark's); exact for any amount."""

    months: dict[tuple[str, int, str], list[int]] = {}
    parties: dict[tuple[str, str], list[int]] = {}
    q = select(
        LEDGER.c.token,
        LEDGER.c.kind,
        LEDGER.c.account,
        LEDGER.c.counterparty,
        LEDGER.c.amount,
        LEDGER.c.block_time,
    )
    for token, kind, account, counterparty, amount, block_time in conn.execute(q):
        if int(amount):
            row = months.setdefault((token, month_of(block_time), kind), [0, 0])
            row[0] += 1
            row[1] += int(amount)
        if kind == "gift":
            parties.setdefault((token, account), [0, 0])[0] += 1
            if counterparty is not None:
                parties.setdefault((token, counterparty), [0, 0])[1] += 1
    conn.execute(delete(STORED[LEDGER_MONTH]))
    conn.execute(delete(STORED[GIFT_PARTY]))
    cols = ["token", "month", "kind", "entries", "amount"]
    data: list[tuple[Any, ...]] = [(*k, n, a) for k, (n, a) in months.items()]
    bulk.write(conn, STORED[LEDGER_MONTH], cols, data, conflict=cols[:3])
    data = [(*k, s, r) for k, (s, r) in parties.items()]
    cols = ["token", "member", "sent", "received"]
    bulk.write(conn, STORED[GIFT_PARTY], cols, data, conflict=cols[:2])
