"""Derived rows between the database and the sink's cache: loading what a batch reads, writing
back what it changed, purging the rows of contracts that left the network."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Table, and_, column, delete, func, select, tuple_

from ..store import bulk
from ..store import models as m
from . import derive, state
from .cache import Cache

TABLES: dict[str, Table] = {
    "balance": m.Balance.__table__,  # type: ignore[attr-defined]
    "contract_state": m.ContractState.__table__,  # type: ignore[attr-defined]
    "pass": m.Pass.__table__,  # type: ignore[attr-defined]
    "tier": m.Tier.__table__,  # type: ignore[attr-defined]
    "member": m.Member.__table__,  # type: ignore[attr-defined]
    "role": m.RoleMember.__table__,  # type: ignore[attr-defined]
    "role_admin": m.RoleAdmin.__table__,  # type: ignore[attr-defined]
    "program": m.Program.__table__,  # type: ignore[attr-defined]
    "point_lot": m.PointLot.__table__,  # type: ignore[attr-defined]
    "exchange": m.Exchange.__table__,  # type: ignore[attr-defined]
    "ledger_month": m.LedgerMonth.__table__,  # type: ignore[attr-defined]
    "gift_party": m.GiftParty.__table__,  # type: ignore[attr-defined]
}
EVENT: Table = m.Event.__table__  # type: ignore[attr-defined]
LEDGER: Table = m.LedgerEntry.__table__  # type: ignore[attr-defined]
JOURNAL: Table = m.Journal.__table__  # type: ignore[attr-defined]
CHUNK = 500
FULL_LOAD_MAX = 200_000  # derived tables up to this size are cached whole
CONTRACT_KEYED = {
    *("balance", "contract_state", "pass", "tier", "role", "role_admin", "point_lot"),
    *("ledger_month", "gift_party"),
}


def values(tbl: str, r: Any) -> state.Row:
    return {n: r[n] for n in derive.TABLES[tbl][1]}


def _key_in(t: Table, names: Iterable[str], keys: list[state.Key]) -> Any:
    kcols = [t.c[n] for n in names]
    if len(kcols) == 1:
        return kcols[0].in_([k[0] for k in keys])
    return tuple_(*kcols).in_(keys)


def _delete_keys(conn: Connection, t: Table, names: tuple[str, ...], keys: list[state.Key]) -> None:
    """Delete the rows of `keys`. PostgreSQL gets a join on a VALUES list: a row-value IN list
    over a table not analysed yet (a backfill's new lots) is planned as an index scan that
    rechecks every tuple on every row, about 25x slower."""
    if conn.dialect.name != "postgresql" or len(names) == 1:
        conn.execute(delete(t).where(_key_in(t, names, keys)))
        return
    gone = sa.values(*(column(n, t.c[n].type) for n in names), name="gone").data(keys)
    conn.execute(delete(t).where(and_(*(t.c[n] == gone.c[n] for n in names))))


def _check_size(conn: Connection, cache: Cache, tbl: str) -> None:
    """Cache a small table whole (once): later batches then need no reads for it."""
    if tbl in cache.checked:
        return
    cache.checked.add(tbl)
    t = TABLES[tbl]
    if conn.execute(select(func.count()).select_from(t)).scalar_one() > FULL_LOAD_MAX:
        return
    knames = derive.TABLES[tbl][0]
    for r in conn.execute(select(t)).mappings():
        key = tuple(r[k] for k in knames)
        if tbl == "point_lot":
            cache.add_lot(key, values(tbl, r))
        else:
            cache.rows[tbl][key] = values(tbl, r)
    cache.complete.add(tbl)


def load(
    conn: Connection, cache: Cache, need: dict[str, set[state.Key]], whole_pass: set[str]
) -> None:
    """Cache every row `need` names (absent ones as None) and every pass of `whole_pass`."""
    rows = cache.rows
    for tbl in TABLES:
        if need[tbl] or (tbl == "pass" and whole_pass):
            _check_size(conn, cache, tbl)
    if "pass" in cache.complete:
        whole_pass = set()
    for c in whole_pass - cache.whole_pass:
        t = TABLES["pass"]
        for r in conn.execute(select(t).where(t.c.contract == c)).mappings():
            rows["pass"][(r["contract"], r["token_id"])] = values("pass", r)
        cache.whole_pass.add(c)
    for tbl, keys in need.items():
        if tbl == "point_lot":
            _load_lots(conn, cache, keys)
            continue
        missing = [k for k in keys if k not in rows[tbl]]
        if not missing:
            continue
        if tbl in cache.complete:
            for k in missing:
                rows[tbl][k] = None
            continue
        t = TABLES[tbl]
        knames = derive.TABLES[tbl][0]
        for i in range(0, len(missing), CHUNK):
            chunk = missing[i : i + CHUNK]
            for r in conn.execute(select(t).where(_key_in(t, knames, chunk))).mappings():
                rows[tbl][tuple(r[n] for n in knames)] = values(tbl, r)
        for k in missing:
            rows[tbl].setdefault(k, None)


def _load_lots(conn: Connection, cache: Cache, holders: set[state.Key]) -> None:
    """Every lot of each (token, holder) not cached yet."""
    if "point_lot" in cache.complete:
        return
    missing = [h for h in holders if h not in cache.lot_index]
    t = TABLES["point_lot"]
    for i in range(0, len(missing), CHUNK):
        chunk = missing[i : i + CHUNK]
        for r in conn.execute(select(t).where(_key_in(t, ("token", "holder"), chunk))).mappings():
            cache.add_lot((r["token"], r["holder"], r["expiry_epoch"]), values("point_lot", r))
    for h in missing:
        cache.lots_loaded(h)


def store(conn: Connection, cache: Cache, tbl: str, keys: set[state.Key]) -> None:
    """Write the cached rows of `keys` (delete those that are None)."""
    t = TABLES[tbl]
    knames, defaults = derive.TABLES[tbl]
    cached = cache.rows[tbl]
    gone = [k for k in keys if cached[k] is None]
    live = [
        dict(zip(knames, k, strict=True)) | (cached[k] or {}) for k in keys if cached[k] is not None
    ]
    for i in range(0, len(gone), CHUNK):
        _delete_keys(conn, t, knames, gone[i : i + CHUNK])
    if live:
        cols = list(knames) + list(defaults)
        data = [tuple(r[c] for c in cols) for r in live]
        bulk.write(conn, t, cols, data, conflict=list(knames), update=list(defaults))


def purge_rows(conn: Connection, addrs: set[str]) -> None:
    """Remove every row of contracts that are no longer part of the network."""
    for tbl in CONTRACT_KEYED:
        t = TABLES[tbl]
        conn.execute(delete(t).where(t.c[derive.TABLES[tbl][0][0]].in_(addrs)))
    conn.execute(delete(EVENT).where(EVENT.c.contract.in_(addrs)))
    conn.execute(delete(LEDGER).where(LEDGER.c.token.in_(addrs)))
    stale = [
        i
        for i, tbl, key in conn.execute(select(JOURNAL.c.id, JOURNAL.c.tbl, JOURNAL.c.key))
        if tbl in CONTRACT_KEYED and key[0] in addrs
    ]
    for i in range(0, len(stale), CHUNK):
        conn.execute(delete(JOURNAL).where(JOURNAL.c.id.in_(stale[i : i + CHUNK])))
