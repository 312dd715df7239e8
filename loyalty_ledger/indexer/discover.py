"""New programs found in a batch (the indexer's `_discover`): their contracts join the indexed
addresses, with their logs from the network's start."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from .decode import Decoded, decode_logs
from .fetch import LogFetcher
from .options import IndexerOptions

log = logging.getLogger("loyalty_ledger.indexer")


class Indexer(Protocol):
    """What of the indexer this needs."""

    o: IndexerOptions
    registry: str
    programs: dict[str, dict[str, Any]]
    fetcher: LogFetcher
    timings: dict[str, float]


def discover_programs(self: Indexer, events: list[Decoded], end: int) -> tuple[list[Decoded], int]:
    """New programs: the batch ends at the first registration block, and takes the new
    programs' logs from the network's start to it. Later programs come in the next batch."""
    found = [
        ev
        for ev in events
        if ev.event == "ProgramRegistered"
        and ev.contract == self.registry
        and ev.args["points"] not in self.programs
    ]
    if not found:
        return events, end
    end = found[0].block_number
    found = [ev for ev in found if ev.block_number == end]
    events = [ev for ev in events if ev.block_number <= end]
    addrs: list[str] = []
    for ev in found:
        self.programs[ev.args["points"]] = {
            "points": ev.args["points"],
            "pass_address": ev.args["pass"],
        }
        addrs += [ev.args["points"], ev.args["pass"]]
        log.info(
            "program registered brand=%s points=%s pass=%s block=%d",
            ev.args["brandId"],
            ev.args["points"],
            ev.args["pass"],
            ev.block_number,
        )
    t0 = time.perf_counter()
    more = self.fetcher.fetch_all(addrs, self.o.start_block, end)
    self.timings["rpc"] += time.perf_counter() - t0
    t1 = time.perf_counter()
    # Disjoint address sets: no duplicates between the two lists, only the order to restore.
    out = events + decode_logs(more)
    out.sort(key=lambda e: (e.block_number, e.log_index))
    self.timings["decode"] += time.perf_counter() - t1
    return out, end
