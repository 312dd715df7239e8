"""The indexer loop: backfill, follow the head, detect and undo reorgs. One writer per database."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..store import WriterLock, make_engine, migrate
from .decode import Decoded, decode_logs
from .errors import ChainMismatch, IndexerError
from .fetch import (
    ChainShorter,
    Header,
    LogFetcher,
    chain_identity,
    cut_at_new_program,
    fill_times,
    head_number,
    headers,
)
from .options import DEFAULT_WINDOW, IndexerOptions
from .outages import Outages, through_outages
from .progress import Reporter
from .reorg import Reconciler, Verdict
from .rpc import Rpc, Stopped
from .sink import Sink

__all__ = ["Indexer", "IndexerOptions", "run_indexer"]
log = logging.getLogger("loyalty_ledger.indexer")


class Indexer:
    def __init__(self, opts: IndexerOptions, stop_event: threading.Event | None = None) -> None:
        self.o = opts
        self.stop = stop_event or threading.Event()
        self.rpc = Rpc(opts.rpc_url, timeout=opts.rpc_timeout, stop=self.stop)
        self.fetcher = LogFetcher(self.rpc, initial=opts.initial_range, maximum=opts.max_range)
        self.registry = opts.registry.lower()
        self.base = [self.registry] + ([opts.forwarder.lower()] if opts.forwarder else [])
        self.exchange: str | None = None  # set once the mirror's exchange is known
        self.window = opts.window or DEFAULT_WINDOW  # then the mirror's, once it is open
        self.finished = False  # caught up (without follow), not stopped or failed on the way
        self.timings = {"rpc": 0.0, "decode": 0.0}
        self._pool: ThreadPoolExecutor | None = None
        self._pre_rpc: Rpc | None = None
        self._pre: tuple[Any, ...] | None = None
        self.events = 0

    # ------------------------------------------------------------------ main loop
    def run(self, follow: bool = True) -> None:
        lock = WriterLock(self.o.database_url, on_wait=lambda m: log.warning("%s", m))
        if not lock.acquire(stop=self.stop.is_set):
            return
        if not follow:  # a one-shot run gives up on a node that keeps failing
            self.rpc.retry.give_up_after = self.o.give_up_after
        try:
            engine = make_engine(self.o.database_url)
            migrate(engine)
            chain_id, genesis = chain_identity(self.rpc)
            self.sink = Sink(engine, chain_id=chain_id, window=self.window, derived=self.o.derived)
            self._check_identity(chain_id, genesis)
            self.reorgs = Reconciler(
                self.rpc,
                self.sink,
                window=lambda: self.window,
                lag_grace=self.o.lag_grace if follow else 0.0,
                check_identity=lambda: self._check_identity(*chain_identity(self.rpc)),
            )
            self._loop(follow)
        except Stopped:
            pass
        finally:
            lock.release()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            self.rpc.close()
            self.o.stats.update(self.stats())

    def _check_identity(self, chain_id: int, genesis: str) -> None:
        st = self.sink.state()
        if st is None:
            self.sink.init_state(
                genesis_hash=genesis,
                registry=self.registry,
                start_block=self.o.start_block,
                exchange=self.o.exchange,
            )
            self._use_exchange(self.o.exchange)
            return
        if st["chain_id"] != chain_id or st["genesis_hash"] != genesis:
            raise ChainMismatch(
                f"the node at {self.o.rpc_url} serves chain {chain_id} (genesis {genesis[:12]}…) "
                f"but the mirror holds chain {st['chain_id']} (genesis {st['genesis_hash'][:12]}…):"
                " the chain was reset or swapped. Use a new database to index it."
            )
        if st["registry_address"] != self.registry:
            raise ChainMismatch(
                f"the mirror indexes registry {st['registry_address']}, "
                f"not {self.registry}; use a new database"
            )
        self._use_window(st["reorg_window"])
        self._exchange(st)

    def _use_window(self, stored: int | None) -> None:
        """The mirror's reorg window; one asked for (`--window`) that differs replaces it."""
        asked = self.o.window
        self.window = asked or stored or DEFAULT_WINDOW
        if stored == self.window:
            self.sink.window = stored
            return
        if stored is not None:
            log.warning(
                "the mirror keeps a %d-block reorg window; --window %d asked: it keeps %d blocks "
                "from now on (a larger window fills in as new blocks are indexed)",
                stored,
                self.window,
                self.window,
            )
        self.sink.set_window(self.window)

    def _exchange(self, st: dict[str, Any]) -> None:
        """Index the deployment's CoalitionExchange; one configured after the mirror started is
        adopted: its past logs are written and the swaps already mirrored relabelled."""
        stored, wanted = st["exchange_address"], (self.o.exchange or "").lower() or None
        if wanted is not None and stored is not None and wanted != stored:
            raise ChainMismatch(
                f"the mirror indexes exchange {stored}, not {wanted}; use a new database"
            )
        if wanted is not None and stored is None:
            cp = st["checkpoint_block"]
            while True:
                events = decode_logs(self.fetcher.fetch_all([wanted], st["start_block"], cp))
                if fill_times(self.rpc, events, {}):
                    break
                self.rpc.sleep(self.o.poll_interval)  # the chain moved under us: ask again
            self.sink.adopt_exchange(wanted, events, floor=cp - self.window)
            log.info("exchange %s adopted (%d past events)", wanted, len(events))
        self._use_exchange(stored or wanted)

    def _use_exchange(self, address: str | None) -> None:
        self.exchange = address.lower() if address else None
        self.sink.exchanges = frozenset([self.exchange] if self.exchange else [])

    def _loop(self, follow: bool) -> None:
        self.programs = {p["points"]: p for p in self.sink.programs()}
        mark, since = None, time.monotonic()  # the last checkpoint seen, and since when
        with Reporter(enabled=self.o.progress and not follow) as rep:
            backfilling = True
            while not self.stop.is_set():
                st = self.sink.state()
                assert st is not None
                cp, cp_hash = st["checkpoint_block"], st["checkpoint_hash"]
                if (cp, cp_hash) != mark:
                    mark, since = (cp, cp_hash), time.monotonic()
                elif not follow and time.monotonic() - since > self.o.give_up_after:
                    raise IndexerError(
                        f"no progress for {self.o.give_up_after:g}s at checkpoint {cp}: "
                        f"{self.reorgs.waiting or 'the node kept changing its answers'}"
                    )
                retries = self.rpc.retries
                head = head_number(self.rpc)
                if self.rpc.retries != retries:  # the node was away: is it still the same chain?
                    self._check_identity(*chain_identity(self.rpc))
                verdict = self.reorgs.check(cp, cp_hash, head)
                if verdict is Verdict.ROLLED_BACK:
                    self.programs = {p["points"]: p for p in self.sink.programs()}
                if verdict is not Verdict.OK:
                    if verdict is Verdict.WAIT:
                        self.rpc.sleep(self.o.poll_interval)
                    continue
                target = head - self.o.confirmations
                if cp >= target:
                    if not follow:
                        self.finished = True
                        return
                    if backfilling:
                        backfilling = False
                        rep.close()
                        log.info("caught up block=%d events=%d; following", cp, self.events)
                    self.rpc.sleep(self.o.poll_interval)
                    continue
                rep.set_range(st["start_block"], target)
                try:
                    self._step(cp, cp_hash, target, head, rep, backfilling)
                except ChainShorter:  # the chain lost blocks under the batch: reconcile first
                    continue

    # ------------------------------------------------------------------ one batch
    def _addresses(self) -> list[str]:
        out = self.base + ([self.exchange] if self.exchange else [])
        for p in self.programs.values():
            out += [p["points"], p["pass_address"]]
        return out

    def _step(
        self, cp: int, cp_hash: str | None, target: int, head: int, rep: Reporter, backfilling: bool
    ) -> None:
        a = cp + 1
        end_max = min(target, a + self.fetcher.size - 1)
        # Headers first, logs second: if the chain moves in between, the stored headers are the
        # older ones and the next round sees the mismatch and rolls back.
        win_lo = max(a, head - self.window + 1)
        t0 = time.perf_counter()
        hdrs = headers(self.rpc, list(range(win_lo, end_max + 1))) if win_lo <= end_max else {}
        addrs = self._addresses()
        got = self._take_prefetch(a, end_max, addrs)
        if got is None:
            got = self._fetch_decode(self.fetcher, addrs, a, end_max, frozenset(self.programs))
        fetched_end, end, events, dt = got
        self.timings["decode"] += dt
        if backfilling and end == fetched_end and end + self.fetcher.size < head - self.window:
            # History below the reorg window: fetch and decode the next range meanwhile.
            self._start_prefetch(end + 1, min(target, end + self.fetcher.size), addrs)
        if end not in hdrs:
            hdrs.update(headers(self.rpc, [end]))
        self.timings["rpc"] += time.perf_counter() - t0 - dt
        if any(h is None for h in hdrs.values()):
            return  # the chain got shorter meanwhile
        events, end = self._discover(events, end)
        if end not in hdrs:
            hdrs.update(headers(self.rpc, [end]))
            if hdrs[end] is None:
                return
        kept = {n: h for n, h in hdrs.items() if h is not None and n <= end}
        if not self._consistent(events, kept, a, cp_hash):
            return
        t1 = time.perf_counter()
        timed = fill_times(self.rpc, events, kept)  # only for logs without blockTimestamp
        self.timings["rpc"] += time.perf_counter() - t1
        if not timed:
            return  # a header disagrees with the logs: the chain moved, ask again
        new = self.sink.write_batch(
            events,
            kept.values(),
            to_block=end,
            to_hash=kept[end].hash,
            floor=head - self.window,
            checkpoint=cp,
            to_time=kept[end].timestamp,
        )
        self.events += new
        if backfilling:
            rep.advance(end, new)
        if not backfilling or not self.o.progress:
            log.info(
                "indexed blocks=%d..%d events=%d head=%d lag_blocks=%d",
                a,
                end,
                new,
                head,
                head - end,
            )

    def _fetch_decode(
        self, fetcher: LogFetcher, addrs: list[str], a: int, end_max: int, known: frozenset[str]
    ) -> tuple[int, int, list[Decoded], float]:
        """(fetched end, batch end, decoded events, decode seconds) of [a, <= end_max]."""
        fetched_end, logs = fetcher.fetch(addrs, a, end_max)
        logs, end = cut_at_new_program(logs, fetched_end, self.registry, known)
        t0 = time.perf_counter()
        events = decode_logs(logs)  # sorted, duplicates dropped
        return fetched_end, end, events, time.perf_counter() - t0

    def _start_prefetch(self, a: int, end_max: int, addrs: list[str]) -> None:
        if self._pool is None or self._pre_rpc is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="prefetch")
            self._pre_rpc = Rpc(
                self.o.rpc_url,
                timeout=self.o.rpc_timeout,
                stop=self.stop,
                give_up_after=self.rpc.retry.give_up_after,  # so a failed run can shut it down
            )
        fetcher = LogFetcher(self._pre_rpc, initial=self.fetcher.size, maximum=self.o.max_range)
        job = self._pool.submit(
            self._fetch_decode, fetcher, addrs, a, end_max, frozenset(self.programs)
        )
        self._pre = (a, end_max, tuple(addrs), fetcher, job)

    def _take_prefetch(
        self, a: int, end_max: int, addrs: list[str]
    ) -> tuple[int, int, list[Decoded], float] | None:
        pre, self._pre = self._pre, None
        if pre is None:
            return None
        pa, _pend, paddrs, fetcher, job = pre
        try:
            got = job.result()
        except Exception:  # stopped or failed: fetch again in the foreground
            return None
        self.fetcher.calls += fetcher.calls
        if pa != a or paddrs != tuple(addrs) or got[0] > end_max:
            return None  # the plan changed (new program, rollback): not usable
        self.fetcher.size = fetcher.size
        self.timings["decode_prefetch"] = self.timings.get("decode_prefetch", 0.0) + got[3]
        return got[0], got[1], got[2], 0.0

    def _discover(self, events: list[Decoded], end: int) -> tuple[list[Decoded], int]:
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

    def _consistent(
        self, events: list[Decoded], hdrs: dict[int, Header], a: int, cp_hash: str | None
    ) -> bool:
        for ev in events:
            h = hdrs.get(ev.block_number)
            if h is not None and h.hash != ev.block_hash:
                log.info(
                    "logs and headers disagree at block %d (chain moving); retrying",
                    ev.block_number,
                )
                return False
        nums = sorted(hdrs)
        for prev, n in itertools.pairwise(nums):
            if n == prev + 1 and hdrs[n].parent_hash != hdrs[prev].hash:
                return False
        first = hdrs.get(a)
        if first is not None and cp_hash is not None and first.parent_hash != cp_hash:
            log.info("block %d does not extend the stored head; checking for a reorg", a)
            return False
        return True

    def stats(self) -> dict[str, Any]:
        sink = getattr(self, "sink", None)
        return {
            "events": self.events,
            "rpc_s": self.rpc.seconds,
            "rpc_prefetch_s": self._pre_rpc.seconds if self._pre_rpc else 0.0,
            "decode_s": self.timings["decode"],
            "write_s": sink.timings["write"] if sink else 0.0,
            "derive_s": sink.timings["derive"] if sink else 0.0,
            "getlogs_calls": self.fetcher.calls,
            "splits": self.fetcher.splits,
            "rpc_retries": self.rpc.retries,
            "finished": self.finished,
        }


def run_indexer(
    settings: Any,
    follow: bool = True,
    stop_event: threading.Event | None = None,
    outages: Outages | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Index the network of `settings.deployment_file` into `settings.database_url`.

    Returns the run's figures. Stops when caught up (follow=False) or when `stop_event` is set.
    A follower outlives database outages (`outages` says since when it waits).
    """
    opts = IndexerOptions.from_settings(settings, **overrides)
    stop = stop_event or threading.Event()
    if follow:
        through_outages(lambda: Indexer(opts, stop).run(), opts.database_url, stop, outages)
    else:
        Indexer(opts, stop).run(follow=False)
    return opts.stats
