"""Writing to the mirror: a batch of events + derived state + checkpoint in one transaction,
idempotently, with an undo journal inside the reorg window; rollback to a common ancestor."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..store import bulk
from ..store import models as m
from . import derive
from .decode import Decoded
from .fetch import Header

TABLES: dict[str, Table] = {
    "balance": m.Balance.__table__,  # type: ignore[attr-defined]
    "contract_state": m.ContractState.__table__,  # type: ignore[attr-defined]
    "pass": m.Pass.__table__,  # type: ignore[attr-defined]
    "tier": m.Tier.__table__,  # type: ignore[attr-defined]
    "member": m.Member.__table__,  # type: ignore[attr-defined]
    "role": m.RoleMember.__table__,  # type: ignore[attr-defined]
    "role_admin": m.RoleAdmin.__table__,  # type: ignore[attr-defined]
    "program": m.Program.__table__,  # type: ignore[attr-defined]
}
EVENT: Table = m.Event.__table__  # type: ignore[attr-defined]
LEDGER: Table = m.LedgerEntry.__table__  # type: ignore[attr-defined]
BLOCK: Table = m.BlockSeen.__table__  # type: ignore[attr-defined]
STATE: Table = m.IndexerState.__table__  # type: ignore[attr-defined]
JOURNAL: Table = m.Journal.__table__  # type: ignore[attr-defined]
CHUNK = 500
FULL_LOAD_MAX = 200_000  # derived tables up to this size are cached whole
EVENT_COLS = [
    "chain_id",
    "block_number",
    "block_hash",
    "tx_hash",
    "tx_index",
    "log_index",
    "contract",
    "event",
    "args",
]
LEDGER_COLS = [
    "block_number",
    "log_index",
    "tx_hash",
    "token",
    "kind",
    "account",
    "counterparty",
    "amount",
    "reason",
    "ref",
    "memo",
    "by",
]


def dumps(value: Any) -> str:
    """JSON text; orjson when the values fit it (it refuses integers above 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


class Cache:
    """Derived rows known to match the database (the sink is the only writer), plus the
    bookkeeping of the batch being applied: dirty keys and journal entries."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[derive.Key, derive.Row | None]] = {t: {} for t in TABLES}
        self.whole_pass: set[str] = set()
        self.complete: set[str] = set()  # tables held in full: a missing key is an absent row
        self.checked: set[str] = set()  # tables whose size was looked at
        self.begin(floor=0)

    def begin(self, floor: int) -> None:
        self.floor = floor
        self.dirty: dict[str, set[derive.Key]] = {t: set() for t in TABLES}
        self.journal: list[dict[str, Any]] = []
        self.touched: set[tuple[str, derive.Key, int]] = set()

    def get(self, tbl: str, key: derive.Key) -> derive.Row | None:
        return self.rows[tbl][key]

    def put(self, tbl: str, key: derive.Key, row: derive.Row | None, block: int) -> None:
        if block > self.floor and (tbl, key, block) not in self.touched:
            self.touched.add((tbl, key, block))
            old = self.rows[tbl][key]
            self.journal.append(
                {
                    "block_number": block,
                    "tbl": tbl,
                    "key": list(key),
                    "old": dict(old) if old is not None else None,
                }
            )
        self.rows[tbl][key] = row
        self.dirty[tbl].add(key)

    def keys_of(self, tbl: str, prefix: derive.Key) -> list[derive.Key]:
        n = len(prefix)
        return [k for k, v in self.rows[tbl].items() if v is not None and k[:n] == prefix]


class Sink:
    """The only writer of one mirror database."""

    def __init__(self, engine: Engine, *, chain_id: int, window: int = 64, derived: bool = True):
        self.engine = engine
        self.chain_id = chain_id
        self.window = window
        self.derived = derived
        self._assume_new = False
        self.cache = Cache()
        self.timings = {"write": 0.0, "derive": 0.0}
        pg = engine.dialect.name == "postgresql"
        self._insert = postgresql.insert if pg else sqlite.insert

    # ---------------------------------------------------------------- reads
    def state(self) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(STATE)).mappings().first()
            return dict(row) if row else None

    def programs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(TABLES["program"])).mappings()]

    def stored_blocks(self) -> list[tuple[int, str]]:
        """Stored (number, hash) in the window, newest first."""
        with self.engine.connect() as conn:
            q = select(BLOCK.c.number, BLOCK.c.hash).order_by(BLOCK.c.number.desc())
            return [(r[0], r[1]) for r in conn.execute(q)]

    # ---------------------------------------------------------------- writes
    def init_state(self, *, genesis_hash: str, registry: str, start_block: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                STATE.insert().values(
                    id=1,
                    chain_id=self.chain_id,
                    genesis_hash=genesis_hash,
                    registry_address=registry.lower(),
                    start_block=start_block,
                    checkpoint_block=start_block - 1,
                    checkpoint_hash=None,
                )
            )

    def write_batch(
        self,
        events: list[Decoded],
        blocks: Iterable[Header],
        *,
        to_block: int,
        to_hash: str | None,
        floor: int,
        checkpoint: int,
    ) -> int:
        """Store `events` (chain order), `blocks` and the new checkpoint in one transaction.

        Returns how many events were new. Events at or below the old checkpoint that are
        stored already are skipped, so a replayed range changes nothing.
        """
        t0 = time.perf_counter()
        try:
            try:
                return self._write(events, blocks, to_block, to_hash, floor, checkpoint, True)
            except IntegrityError:
                # Only possible if the no-row-above-the-checkpoint invariant was broken by hand:
                # take the slower path that skips stored rows.
                self.cache = Cache()
                return self._write(events, blocks, to_block, to_hash, floor, checkpoint, False)
        except BaseException:
            self.cache = Cache()  # rolled back: the cache may hold uncommitted rows
            raise
        finally:
            self.timings["write"] += time.perf_counter() - t0

    def _write(
        self,
        events: list[Decoded],
        blocks: Iterable[Header],
        to_block: int,
        to_hash: str | None,
        floor: int,
        checkpoint: int,
        fast: bool,
    ) -> int:
        with self.engine.begin() as conn:
            if fast and events:
                # Rows above the checkpoint never exist (checked: one indexed probe), so only
                # events at or below it can be stored already, and new ones cannot clash.
                probe = select(EVENT.c.id).where(
                    EVENT.c.chain_id == self.chain_id, EVENT.c.block_number > checkpoint
                )
                fast = conn.execute(probe.limit(1)).first() is None
            if not fast and events:
                checkpoint = max(checkpoint, events[-1].block_number)
            events = self._drop_known(conn, events, checkpoint)
            self._assume_new = fast
            if events:
                cid = self.chain_id
                rows = [
                    (
                        cid,
                        e.block_number,
                        e.block_hash,
                        e.tx_hash,
                        e.tx_index,
                        e.log_index,
                        e.contract,
                        e.event,
                        dumps(e.args),
                    )
                    for e in events
                ]
                bulk.write(
                    conn,
                    EVENT,
                    EVENT_COLS,
                    rows,
                    conflict=["chain_id", "block_number", "log_index"],
                    assume_new=self._assume_new,
                )
            if self.derived and events:
                t1 = time.perf_counter()
                self._derive(conn, events, floor)
                self.timings["derive"] += time.perf_counter() - t1
            hdrs = [
                {"number": h.number, "hash": h.hash, "parent_hash": h.parent_hash} for h in blocks
            ]
            if hdrs:
                ins = self._insert(BLOCK)
                conn.execute(
                    ins.on_conflict_do_update(
                        index_elements=["number"],
                        set_={
                            "hash": ins.excluded.hash,
                            "parent_hash": ins.excluded.parent_hash,
                        },
                    ),
                    hdrs,
                )
            conn.execute(update(STATE).values(checkpoint_block=to_block, checkpoint_hash=to_hash))
            keep = to_block - self.window
            conn.execute(delete(BLOCK).where(BLOCK.c.number < keep))
            conn.execute(delete(JOURNAL).where(JOURNAL.c.block_number <= keep))
        return len(events)

    def _drop_known(
        self,
        conn: Connection,
        events: list[Decoded],
        checkpoint: int,
    ) -> list[Decoded]:
        old = [ev for ev in events if ev.block_number <= checkpoint]
        if not old:
            return events
        lo = min(ev.block_number for ev in old)
        q = select(EVENT.c.block_number, EVENT.c.log_index).where(
            EVENT.c.chain_id == self.chain_id, EVENT.c.block_number.between(lo, checkpoint)
        )
        known = {(r[0], r[1]) for r in conn.execute(q)}
        return [ev for ev in events if (ev.block_number, ev.log_index) not in known]

    def _derive(self, conn: Connection, events: list[Decoded], floor: int) -> None:
        cache = self.cache
        need, whole_pass = derive.keys_needed(events)
        self._load(conn, need, whole_pass)
        cache.begin(floor)
        derive.apply(cache, events)
        entries = derive.ledger_entries(events)
        if entries:
            rows = [tuple(e[c] for c in LEDGER_COLS) for e in entries]
            bulk.write(
                conn,
                LEDGER,
                LEDGER_COLS,
                rows,
                conflict=["block_number", "log_index"],
                assume_new=self._assume_new,
            )
        for tbl, keys in cache.dirty.items():
            if keys:
                self._store(conn, tbl, keys)
        if cache.journal:
            rows = [
                (
                    j["block_number"],
                    j["tbl"],
                    dumps(j["key"]),
                    None if j["old"] is None else dumps(j["old"]),
                )
                for j in cache.journal
            ]
            bulk.write(conn, JOURNAL, ["block_number", "tbl", "key", "old"], rows, conflict=["id"])

    def _load(
        self,
        conn: Connection,
        need: dict[str, set[derive.Key]],
        whole_pass: set[str],
    ) -> None:
        rows = self.cache.rows
        cache = self.cache
        for tbl in TABLES:
            if tbl in cache.checked or not (need[tbl] or (tbl == "pass" and whole_pass)):
                continue
            cache.checked.add(tbl)
            t = TABLES[tbl]
            if conn.execute(select(func.count()).select_from(t)).scalar_one() <= FULL_LOAD_MAX:
                knames = derive.TABLES[tbl][0]
                for r in conn.execute(select(t)).mappings():
                    rows[tbl][tuple(r[k] for k in knames)] = _values(tbl, r)
                cache.complete.add(tbl)
        if "pass" in cache.complete:
            whole_pass = set()
        for c in whole_pass - self.cache.whole_pass:
            t = TABLES["pass"]
            for r in conn.execute(select(t).where(t.c.contract == c)).mappings():
                rows["pass"][(r["contract"], r["token_id"])] = _values("pass", r)
            self.cache.whole_pass.add(c)
        for tbl, keys in need.items():
            missing = [k for k in keys if k not in rows[tbl]]
            if not missing:
                continue
            if tbl in cache.complete:
                for k in missing:
                    rows[tbl][k] = None
                continue
            t = TABLES[tbl]
            kcols = [t.c[name] for name in derive.TABLES[tbl][0]]
            for i in range(0, len(missing), CHUNK):
                chunk = missing[i : i + CHUNK]
                cond = (
                    kcols[0].in_([k[0] for k in chunk])
                    if len(kcols) == 1
                    else tuple_(*kcols).in_(chunk)
                )
                for r in conn.execute(select(t).where(cond)).mappings():
                    rows[tbl][tuple(r[c.name] for c in kcols)] = _values(tbl, r)
            for k in missing:
                rows[tbl].setdefault(k, None)

    def _store(self, conn: Connection, tbl: str, keys: set[derive.Key]) -> None:
        t = TABLES[tbl]
        knames, defaults = derive.TABLES[tbl]
        cached = self.cache.rows[tbl]
        gone = [k for k in keys if cached[k] is None]
        live = [
            dict(zip(knames, k, strict=True)) | (cached[k] or {})
            for k in keys
            if cached[k] is not None
        ]
        kcols = [t.c[n] for n in knames]
        for i in range(0, len(gone), CHUNK):
            chunk = gone[i : i + CHUNK]
            cond = (
                kcols[0].in_([k[0] for k in chunk])
                if len(kcols) == 1
                else tuple_(*kcols).in_(chunk)
            )
            conn.execute(delete(t).where(cond))
        if live:
            cols = list(knames) + list(defaults)
            rows = [tuple(r[c] for c in cols) for r in live]
            bulk.write(conn, t, cols, rows, conflict=list(knames), update=list(defaults))

    def _program_addresses(self, conn: Connection) -> set[str]:
        prog = TABLES["program"]
        return {a for r in conn.execute(select(prog.c.points, prog.c.pass_address)) for a in r}

    def _purge_unregistered(self, conn: Connection, before: set[str]) -> None:
        """After a rollback: drop programs whose registration was undone, with all their rows
        (their contracts' earlier logs are not the network's any more)."""
        orphans = before - self._program_addresses(conn)
        if orphans:
            _purge_rows(conn, orphans)

    def rollback(self, ancestor: int, ancestor_hash: str | None) -> int:
        """Undo everything above block `ancestor`; returns how many events were removed."""
        try:
            with self.engine.begin() as conn:
                programs_before = self._program_addresses(conn)
                q = (
                    select(JOURNAL.c.tbl, JOURNAL.c.key, JOURNAL.c.old)
                    .where(JOURNAL.c.block_number > ancestor)
                    .order_by(JOURNAL.c.block_number, JOURNAL.c.id)
                )
                restore: dict[tuple[str, derive.Key], derive.Row | None] = {}
                for tbl, key, old in conn.execute(q):
                    restore.setdefault((tbl, tuple(key)), old)
                self.cache = Cache()
                by_tbl: dict[str, set[derive.Key]] = {}
                for (tbl, key), old in restore.items():
                    self.cache.rows[tbl][key] = old
                    by_tbl.setdefault(tbl, set()).add(key)
                for tbl, keys in by_tbl.items():
                    self._store(conn, tbl, keys)
                conn.execute(delete(JOURNAL).where(JOURNAL.c.block_number > ancestor))
                removed = conn.execute(
                    delete(EVENT).where(
                        EVENT.c.chain_id == self.chain_id, EVENT.c.block_number > ancestor
                    )
                ).rowcount
                conn.execute(delete(LEDGER).where(LEDGER.c.block_number > ancestor))
                conn.execute(delete(BLOCK).where(BLOCK.c.number > ancestor))
                conn.execute(
                    update(STATE).values(checkpoint_block=ancestor, checkpoint_hash=ancestor_hash)
                )
                self._purge_unregistered(conn, programs_before)
        finally:
            self.cache = Cache()
        return int(removed or 0)


CONTRACT_KEYED = {"balance", "contract_state", "pass", "tier", "role", "role_admin"}


def _purge_rows(conn: Connection, addrs: set[str]) -> None:
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


def _values(tbl: str, r: Any) -> derive.Row:
    return {n: r[n] for n in derive.TABLES[tbl][1]}
