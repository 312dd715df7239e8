"""The mirror's history (`event`, `ledger_entry` rows) checked as the replay streams: each page
of logs against the mirror's rows of the same blocks, with range digests for the checkpoint;
below an incremental audit's checkpoint, the mirror's rows against the stored range digests
(ranges that differ are fetched from the node again and compared row by row)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .decode import Event, Kind, Log, decode
from .mirror_range import (
    Digester,
    RangeDigest,
    check_digests,
    compare,
    lines,
    mirror_lines,
    ours,
)
from .mirror_read import MirrorDb
from .rpc import Rpc, iter_log_ranges
from .state import Finding

Progress = Callable[[str, int, int], None]
Diff = Callable[..., list[Finding]]


class HistoryCheck:
    """Feed it every page of the replay (`page`); `finish()` gives the findings."""

    def __init__(
        self,
        rpc: Rpc,
        db: MirrorDb,
        start_block: int,
        diff: Diff,
        exchanges: Callable[[], set[str]],
        *,
        first: int | None = None,
        stored: list[RangeDigest] | None = None,
    ) -> None:
        self.rpc, self.db, self.start = rpc, db, start_block
        self.diff, self.exchanges = diff, exchanges
        self.findings: list[Finding] = []
        self.rows = self.ledger_rows = 0
        self.stored = list(stored or [])
        self.rechecked = 0
        self.digester = Digester(start_block if first is None else first)

    def page(self, first: int, last: int, events: list[Event]) -> None:
        """One page of the replay (whole blocks first..last, in log order)."""
        ev, led = ours(events, self.exchanges())
        for item in lines(ev, led):
            self.digester.add(item)
        self._compare(first, last, events, ev, led)

    def _compare(
        self,
        first: int,
        last: int,
        events: list[Event],
        ev: dict[Any, Any],
        led: dict[Any, Any],
    ) -> None:
        their_ev = list(self.db.events(first, last))
        their_led = list(self.db.ledger(first, last))
        self.rows += len(their_ev)
        self.ledger_rows += len(their_led)
        known = {e.log.block_number: e.log.block_hash for e in events}
        self.findings.extend(
            compare(ev, led, their_ev, their_led, lambda bs: self._hashes(bs, known), self.diff)
        )

    def _hashes(self, blocks: set[int], known: dict[int, str]) -> dict[int, str]:
        missing = sorted(blocks - known.keys())
        out = dict(known)
        if missing:
            out.update({n: h["hash"].lower() for n, h in self.rpc.headers(missing).items()})
        return out

    def below(self, kinds: dict[str, Kind], progress: Progress | None = None) -> None:
        """Check the mirror's rows up to the checkpoint against the stored range digests;
        compare the ranges that differ row by row with the node's logs."""
        if not self.stored:
            return
        last = self.stored[-1].last
        span = max(1, last - self.start + 1)

        def tick(items: Any) -> Any:
            done = 0
            for item in items:
                if item[0] - self.start > done + 50_000 and progress:
                    done = item[0] - self.start
                    progress("mirror (below checkpoint)", done, span)
                yield item

        found = mirror_lines(self.db.events(self.start, last), self.db.ledger(self.start, last))
        bad, rows, ledger = check_digests(self.stored, tick(found))
        self.rows += rows
        self.ledger_rows += ledger
        if progress:
            progress("mirror (below checkpoint)", span, span)
        for i in bad:
            r = self.stored[i]
            self.rows -= r.rows  # counted again by the row-by-row comparison
            self.ledger_rows -= r.ledger
            self.rechecked += 1
            for first, end, raws in iter_log_ranges(self.rpc, list(kinds), r.first, r.last, span=8):
                from .chain_replay import _fill_times

                logs = [Log.from_rpc(x) for x in raws]
                _fill_times(self.rpc, logs)
                events = [decode(log, kinds[log.address]) for log in logs]
                ev, led = ours(events, self.exchanges())
                self._compare(first, end, events, ev, led)

    def finish(self, block: int) -> list[Finding]:
        """The findings, with the rows no page covers (below the deployment block, or of
        another chain id) as extra rows; closes the range digests at `block`."""
        self.digests = [*self.stored, *self.digester.finish(block)]
        stray_ev, stray_led = self.db.stray_events(self.start), self.db.stray_ledger(self.start)
        if stray_ev or stray_led:
            self.findings.extend(compare({}, {}, stray_ev, stray_led, lambda _b: {}, self.diff))
        return self.findings

    def info(self) -> dict[str, Any]:
        return {"ranges_rechecked": self.rechecked} if self.stored else {}
