"""Writing to the mirror: a batch of events + derived state + checkpoint in one transaction,
idempotently, with an undo journal inside the reorg window; rollback to a common ancestor.

Derived state is folded by `derive` into the `Cache`, loaded and stored by `rows`; at the end
of each batch `sweep` takes the lots expired by its last block out of the balances."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..store import bulk
from ..store import models as m
from . import derive, rollups, rows, state, sweep
from .cache import Cache, dumps
from .decode import Decoded
from .fetch import Header
from .ledger_rows import ledger_entries

__all__ = ["Cache", "Sink", "dumps"]

EVENT = rows.EVENT
LEDGER = rows.LEDGER
JOURNAL = rows.JOURNAL
BLOCK: Table = m.BlockSeen.__table__  # type: ignore[attr-defined]
STATE: Table = m.IndexerState.__table__  # type: ignore[attr-defined]
TABLES = rows.TABLES
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
    "block_time",
]


class Sink:
    """The only writer of one mirror database."""

    def __init__(self, engine: Engine, *, chain_id: int, window: int = 64, derived: bool = True):
        self.engine = engine
        self.chain_id = chain_id
        self.window = window
        self.derived = derived
        self.exchanges: frozenset[str] = frozenset()  # CoalitionExchange contracts indexed
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
    def init_state(
        self, *, genesis_hash: str, registry: str, start_block: int, exchange: str | None = None
    ) -> None:
        """The new mirror's identity, and its reorg window (`self.window`)."""
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
                    exchange_address=exchange.lower() if exchange else None,
                    reorg_window=self.window,
                )
            )

    def set_window(self, window: int) -> None:
        """Record the reorg window the mirror keeps from now on."""
        self.window = window
        with self.engine.begin() as conn:
            conn.execute(update(STATE).values(reorg_window=window))

    def write_batch(
        self,
        events: list[Decoded],
        blocks: Iterable[Header],
        *,
        to_block: int,
        to_hash: str | None,
        floor: int,
        checkpoint: int,
        to_time: int | None = None,
    ) -> int:
        """Store `events` (chain order), `blocks` and the new checkpoint in one transaction.

        Returns how many events were new. Events at or below the old checkpoint that are
        stored already are skipped, so a replayed range changes nothing. `to_time` is the
        timestamp of block `to_block` (else taken from `blocks`): lots expired by then leave
        the balances.
        """
        blocks = list(blocks)
        if to_time is None:
            to_time = next((h.timestamp for h in blocks if h.number == to_block), None)
        t0 = time.perf_counter()
        args = (events, blocks, to_block, to_hash, floor, checkpoint, to_time)
        try:
            try:
                return self._write(*args, True)
            except IntegrityError:
                # Only possible if the no-row-above-the-checkpoint invariant was broken by hand:
                # take the slower path that skips stored rows.
                self.cache = Cache()
                return self._write(*args, False)
        except BaseException:
            self.cache = Cache()  # rolled back: the cache may hold uncommitted rows
            raise
        finally:
            self.timings["write"] += time.perf_counter() - t0

    def _write(
        self,
        events: list[Decoded],
        blocks: list[Header],
        to_block: int,
        to_hash: str | None,
        floor: int,
        checkpoint: int,
        to_time: int | None,
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
            self._events(conn, events)
            if self.derived:
                t1 = time.perf_counter()
                self._derive(conn, events, floor, to_block, to_time)
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

    def _events(self, conn: Connection, events: list[Decoded]) -> None:
        if not events:
            return
        cid = self.chain_id
        data = [
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
            data,
            conflict=["chain_id", "block_number", "log_index"],
            assume_new=self._assume_new,
        )

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

    def _derive(
        self,
        conn: Connection,
        events: list[Decoded],
        floor: int,
        to_block: int,
        to_time: int | None,
    ) -> None:
        """Fold the batch into derived state, then sweep the lots expired by its last block."""
        cache = self.cache
        clocked = sweep.clocked(conn, cache)
        if not events and not clocked:
            return  # nothing to fold, no clock to sweep: the common empty batch stays free
        need, whole_pass = derive.keys_needed(events, clocked)
        need["contract_state"].update((c,) for c in clocked)
        entries = ledger_entries(events, self.exchanges)
        for tbl, keys in rollups.keys(entries).items():
            need[tbl] |= keys
        rows.load(conn, cache, need, whole_pass)
        cache.begin(floor)
        derive.apply(cache, events, clocked)
        rollups.fold(cache, entries)
        if entries:
            data = [tuple(e[c] for c in LEDGER_COLS) for e in entries]
            bulk.write(
                conn,
                LEDGER,
                LEDGER_COLS,
                data,
                conflict=["block_number", "log_index"],
                assume_new=self._assume_new,
            )
        self._store_dirty(conn)
        if to_time is not None and (due := sweep.due(cache, to_time)):
            sweep.sweep(conn, cache, due, to_block, to_time)
            self._store_dirty(conn)
        self._journal(conn)

    def adopt_exchange(self, address: str, events: list[Decoded], *, floor: int) -> None:
        """Start indexing exchange `address` on a mirror that did not: store its past `events`
        (at or below the checkpoint), fold them into `exchange` rows, relabel the burns it made
        as `swap_out`, and remember it, in one transaction."""
        address = address.lower()
        try:
            with self.engine.begin() as conn:
                events = self._drop_known(conn, events, events[-1].block_number) if events else []
                self._assume_new = False
                self._events(conn, events)
                if self.derived and events:
                    need, _ = derive.keys_needed(events)
                    rows.load(conn, self.cache, need, set())
                    self.cache.begin(floor)
                    derive.apply(self.cache, events)
                    self._store_dirty(conn)
                    self._journal(conn)
                relabelled = LEDGER.c.kind == "redeem", LEDGER.c.by == address
                if self.derived:  # the rollups move the burns from redeem to swap_out too
                    cols = (LEDGER.c.token, LEDGER.c.block_time, LEDGER.c.amount)
                    q = select(*cols, LEDGER.c.block_number).where(*relabelled)
                    moved = [(t, bt, int(a), b) for t, bt, a, b in conn.execute(q)]
                    need = {t: set() for t in derive.TABLES}
                    need["ledger_month"] = rollups.relabel_keys(moved, "redeem", "swap_out")
                    rows.load(conn, self.cache, need, set())
                    self.cache.begin(floor)
                    rollups.relabel(self.cache, moved, "redeem", "swap_out")
                    self._store_dirty(conn)
                    self._journal(conn)
                conn.execute(update(LEDGER).where(*relabelled).values(kind="swap_out"))
                conn.execute(update(STATE).values(exchange_address=address))
        finally:
            self.cache = Cache()

    def _journal(self, conn: Connection) -> None:
        if not self.cache.journal:
            return
        data = [
            (
                j["block_number"],
                j["tbl"],
                dumps(j["key"]),
                None if j["old"] is None else dumps(j["old"]),
            )
            for j in self.cache.journal
        ]
        bulk.write(conn, JOURNAL, ["block_number", "tbl", "key", "old"], data, conflict=["id"])

    def _store_dirty(self, conn: Connection) -> None:
        for tbl, keys in self.cache.dirty.items():
            if keys:
                rows.store(conn, self.cache, tbl, keys)
                keys.clear()

    def _program_addresses(self, conn: Connection) -> set[str]:
        prog = TABLES["program"]
        return {a for r in conn.execute(select(prog.c.points, prog.c.pass_address)) for a in r}

    def _purge_unregistered(self, conn: Connection, before: set[str]) -> None:
        """After a rollback: drop programs whose registration was undone, with all their rows
        (their contracts' earlier logs are not the network's any more)."""
        orphans = before - self._program_addresses(conn)
        if orphans:
            rows.purge_rows(conn, orphans)

    def rollback(
        self, ancestor: int, ancestor_hash: str | None, *, ancestor_time: int | None = None
    ) -> int:
        """Undo everything above block `ancestor`; returns how many events were removed.

        With `ancestor_time` (its timestamp), lots expired by then leave the balances at once,
        so the mirror equals the chain at its new checkpoint even before the next batch.
        """
        try:
            with self.engine.begin() as conn:
                programs_before = self._program_addresses(conn)
                q = (
                    select(JOURNAL.c.tbl, JOURNAL.c.key, JOURNAL.c.old)
                    .where(JOURNAL.c.block_number > ancestor)
                    .order_by(JOURNAL.c.block_number, JOURNAL.c.id)
                )
                restore: dict[tuple[str, state.Key], state.Row | None] = {}
                for tbl, key, old in conn.execute(q):
                    restore.setdefault((tbl, tuple(key)), old)
                self.cache = Cache()
                by_tbl: dict[str, set[state.Key]] = {}
                for (tbl, key), old in restore.items():
                    self.cache.rows[tbl][key] = old
                    by_tbl.setdefault(tbl, set()).add(key)
                for tbl, keys in by_tbl.items():
                    rows.store(conn, self.cache, tbl, keys)
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
                if ancestor_time is not None and self.derived:
                    self.cache = Cache()
                    self._derive(conn, [], ancestor - self.window, ancestor, ancestor_time)
        finally:
            self.cache = Cache()
        return int(removed or 0)
