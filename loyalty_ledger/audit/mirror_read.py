"""The mirror under audit, read-only and in pieces: rows by block range in key order, derived
tables row by row. Nothing is loaded whole, so the audit's memory does not grow with the
mirror's history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from .mirror_rows import Key, norm, norm_column

SPEC: dict[str, tuple[str, ...]] = {
    "program": ("brand_id",),
    "contract_state": ("address",),
    "balance": ("token", "holder"),
    "pass": ("contract", "token_id"),
    "tier": ("contract", "tier"),
    "member": ("address",),
    "role": ("contract", "role", "account"),
    "role_admin": ("contract", "role"),
    "point_lot": ("token", "holder", "expiry_epoch"),
    "exchange": ("id",),
}
_STREAM = {"stream_results": True, "yield_per": 5_000}


class MirrorDb:
    """One open mirror (call `close()`); `state` is its `indexer_state` row (None: no row)."""

    def __init__(self, url: str) -> None:
        from loyalty_ledger.store import make_engine, metadata

        self.url = url
        self.t = metadata.tables
        self.engine: Engine = make_engine(url)
        with self.engine.connect() as c:
            st = c.execute(select(self.t["indexer_state"])).mappings().first()
        self.state: dict[str, Any] | None = dict(st) if st else None

    @property
    def checkpoint_block(self) -> int | None:
        return None if self.state is None else int(self.state["checkpoint_block"])

    @property
    def chain_id(self) -> int | None:
        return None if self.state is None else int(self.state["chain_id"])

    def close(self) -> None:
        self.engine.dispose()

    def _rows(self, stmt: Any) -> Iterator[dict[str, Any]]:
        with self.engine.connect() as c:
            yield from (dict(r) for r in c.execution_options(**_STREAM).execute(stmt).mappings())

    def blocks(self) -> dict[int, tuple[str, str]]:
        """The stored headers (the indexer keeps a reorg window of them): number -> (hash,
        parent hash)."""
        with self.engine.connect() as c:
            return {
                int(r.number): (r.hash.lower(), r.parent_hash.lower())
                for r in c.execute(select(self.t["block"]))
            }

    def _range(self, name: str, first: int, last: int | None) -> Any:
        t = self.t[name]
        cond = [t.c.block_number >= first]
        if last is not None:
            cond.append(t.c.block_number <= last)
        if name == "event" and self.chain_id is not None:
            cond.append(t.c.chain_id == self.chain_id)  # the unique index leads with it
        return select(t).where(*cond).order_by(t.c.block_number, t.c.log_index)

    def events(self, first: int, last: int | None) -> Iterator[dict[str, Any]]:
        """`event` rows of blocks first..last (None: to the end), in (block, log index) order."""
        return self._rows(self._range("event", first, last))

    def ledger(self, first: int, last: int | None) -> Iterator[dict[str, Any]]:
        """`ledger_entry` rows of blocks first..last, in (block, log index) order."""
        return self._rows(self._range("ledger_entry", first, last))

    def stray_events(self, below: int) -> list[dict[str, Any]]:
        """Event rows that no block range of the audit covers: below the deployment block, or
        of another chain id than the mirror's own."""
        t = self.t["event"]
        cond = [t.c.block_number < below]
        if self.chain_id is not None:
            cond = [or_(t.c.block_number < below, t.c.chain_id != self.chain_id)]
        return list(self._rows(select(t).where(*cond).order_by(t.c.block_number, t.c.log_index)))

    def stray_ledger(self, below: int) -> list[dict[str, Any]]:
        t = self.t["ledger_entry"]
        stmt = select(t).where(t.c.block_number < below).order_by(t.c.block_number, t.c.log_index)
        return list(self._rows(stmt))

    def blocks_above(self, block: int) -> list[int]:
        """Distinct block numbers of event and block rows above `block` (normally none)."""
        e, b = self.t["event"], self.t["block"]
        with self.engine.connect() as c:
            ev = {
                int(x)
                for (x,) in c.execute(
                    select(e.c.block_number).distinct().where(e.c.block_number > block)
                )
            }
            bl = {int(x) for (x,) in c.execute(select(b.c.number).where(b.c.number > block))}
        return sorted(ev | bl)

    def event_count(self, first: int, last: int) -> int:
        e = self.t["event"]
        with self.engine.connect() as c:
            stmt = (
                select(func.count())
                .select_from(e)
                .where(and_(e.c.block_number >= first, e.c.block_number <= last))
            )
            return int(c.execute(stmt).scalar_one())

    def table(self, name: str) -> Iterator[tuple[Key, dict[str, Any]]]:
        """A derived table's rows, keyed and normalised as `mirror_rows.derived_rows` has
        them, one at a time."""
        keys = SPEC[name]
        for r in self._rows(select(self.t[name])):
            yield (
                tuple(norm(r[k]) for k in keys),
                {k: norm_column(k, v) for k, v in r.items() if k not in keys},
            )
