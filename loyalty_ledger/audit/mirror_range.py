"""The mirror's history rows (`event`, `ledger_entry`) compared one block range at a time, and
per-range digests of them, so that an incremental audit can re-check the rows below its
checkpoint without fetching those logs again.

A range digest is the SHA-256 of the range's rows in (block, log index, table) order, one line
of canonical JSON each (`line`): the audit's own rows when it makes a checkpoint, the mirror's
when a later audit checks them. Equal digests mean equal rows; a range whose digest differs (or
a row the digests cannot tell, as a NULL block time of old rows) is compared row by row
against the node's logs again, so every finding is the one a full audit names.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .decode import Event
from .mirror_ledger import LEDGER_FIELDS, ledger_rows
from .mirror_rows import Key, event_row, norm_column
from .state import Finding

SPAN = 4_096  # blocks per range digest
Rows = dict[Key, dict[str, Any]]
Line = tuple[int, int, str, dict[str, Any]]  # (block, log index, "e" | "l", comparable row)


def line(item: Line) -> bytes:
    return json.dumps(list(item), sort_keys=True, separators=(",", ":"), default=str).encode()


def ours(events: list[Event], exchanges: set[str]) -> tuple[Rows, Rows]:
    """The `event` and `ledger_entry` rows that `events` (whole blocks) make."""
    ev = {(e.log.block_number, e.log.log_index): event_row(e) for e in events}
    return ev, ledger_rows(events, exchanges)


def theirs_ledger(r: dict[str, Any]) -> dict[str, Any]:
    return {f: norm_column(f, r.get(f)) for f in LEDGER_FIELDS}


def lines(ev: Rows, led: Rows) -> Iterator[Line]:
    a = ((k[0], k[1], "e", v) for k, v in sorted(ev.items()))
    b = ((k[0], k[1], "l", v) for k, v in sorted(led.items()))
    return heapq.merge(a, b, key=lambda x: (x[0], x[1], x[2]))


def mirror_lines(
    events: Iterable[dict[str, Any]], ledger: Iterable[dict[str, Any]]
) -> Iterator[Line]:
    """The mirror's rows as lines, merged from two streams already in key order."""
    a = ((int(r["block_number"]), int(r["log_index"]), "e", event_row(r)) for r in events)
    b = ((int(r["block_number"]), int(r["log_index"]), "l", theirs_ledger(r)) for r in ledger)
    return heapq.merge(a, b, key=lambda x: (x[0], x[1], x[2]))


@dataclass(slots=True)
class RangeDigest:
    first: int
    last: int
    digest: str
    rows: int  # event rows in the range
    ledger: int  # ledger_entry rows in the range

    def as_list(self) -> list[Any]:
        return [self.first, self.last, self.digest, self.rows, self.ledger]


class Digester:
    """Folds lines (in order) into consecutive ranges of `span` blocks from `first` on."""

    def __init__(self, first: int, span: int = SPAN) -> None:
        self.span = span
        self.lo, self.hi = first, first + span - 1
        self.h = hashlib.sha256()
        self.rows = self.ledger = 0
        self.done: list[RangeDigest] = []

    def _close(self, hi: int) -> None:
        self.done.append(RangeDigest(self.lo, hi, self.h.hexdigest(), self.rows, self.ledger))
        self.lo, self.hi = hi + 1, hi + self.span
        self.h, self.rows, self.ledger = hashlib.sha256(), 0, 0

    def add(self, item: Line) -> None:
        while item[0] > self.hi:
            self._close(self.hi)
        self.h.update(line(item) + b"\n")
        if item[2] == "e":
            self.rows += 1
        else:
            self.ledger += 1

    def finish(self, last: int) -> list[RangeDigest]:
        """Close every range through block `last` (the last one ends there)."""
        while self.hi < last:
            self._close(self.hi)
        if self.lo <= last:
            self._close(last)
        return self.done


def check_digests(stored: list[RangeDigest], found: Iterable[Line]) -> tuple[list[int], int, int]:
    """Indexes of the stored ranges whose mirror rows (`found`, in order, within the stored
    ranges' span) digest differently, and the mirror's event and ledger rows counted."""
    bad: list[int] = []
    d = Digester(stored[0].first if stored else 0)
    i = 0
    for item in found:
        while i < len(stored) and item[0] > stored[i].last:
            d._close(stored[i].last)
            i += 1
        if i == len(stored):
            break
        d.add(item)
    while i < len(stored):
        d._close(stored[i].last)
        i += 1
    for j, (a, b) in enumerate(zip(stored, d.done, strict=True)):
        if a != b:
            bad.append(j)
    return bad, sum(b.rows for b in d.done), sum(b.ledger for b in d.done)


def compare(
    our_ev: Rows,
    our_led: Rows,
    their_ev: list[dict[str, Any]],
    their_led: list[dict[str, Any]],
    hashes: Callable[[set[int]], dict[int, str]],
    diff: Callable[[str, Rows, Rows], list[Finding]],
) -> list[Finding]:
    """Every finding about one block range's history rows: rows missing, extra or different,
    the blocks whose events are not the node's, event rows with another block hash.
    `hashes(blocks)` gives the node's hash of those blocks (when it has them)."""
    f: list[Finding] = []
    theirs = {(int(r["block_number"]), int(r["log_index"])): event_row(r) for r in their_ev}
    ev_findings = diff("event", our_ev, theirs)
    bad_blocks = sorted({int(x.key.split(":", 1)[1].split("/")[0]) for x in ev_findings})
    for b in bad_blocks:
        f.append(
            Finding(
                "linkage",
                "block-events",
                f"block:{b}",
                "the events stored for this block are not the node's logs",
            )
        )
    node = hashes({b for b, _ in theirs})
    for (b, li), r in theirs.items():
        h = node.get(b)
        if h is not None and r["block_hash"] != h:
            f.append(
                Finding(
                    "linkage",
                    "event-block-hash",
                    f"event:{b}/{li}",
                    "event row's block hash is not the node's",
                    h,
                    r["block_hash"],
                )
            )
    f.extend(ev_findings)
    led: Rows = {}
    for r in their_led:
        key = (int(r["block_number"]), int(r["log_index"]))
        row = led[key] = theirs_ledger(r)
        if row["block_time"] is None and key in our_led:
            row["block_time"] = our_led[key]["block_time"]
    f.extend(diff("ledger_entry", our_led, led))
    return f
