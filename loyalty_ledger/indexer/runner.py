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
from .discover import discover_programs
from .errors import ChainMismatch, ReorgTooDeep
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
from .lag import Lag
from .options import IndexerOptions
from .outages import Outages, through_outages
from .progress import Reporter
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
        self.timings = {"rpc": 0.0, "decode": 0.0}
        self._pool: ThreadPoolExecutor | None = None
        self._pre_rpc: Rpc | None = None
        self._pre: tuple[Any, ...] | None = None
        self.events = 0
        self.lag = Lag(opts.lag_grace)

    # ------------------------------------------------------------------ main loop
    def run(self, follow: bool = True) -> None:
        lock = WriterLock(self.o.database_url, on_wait=lambda m: log.warning("%s", m))
        if not lock.acquire(stop=self.stop.is_set):
            return
        try:
            engine = make_engine(self.o.database_url)
            migrate(engine)
            chain_id, genesis = chain_identity(self.rpc)
            self.sink = Sink(
                engine, chain_id=chain_id, window=self.o.window, derived=self.o.derived
            )
            self._check_identity(chain_id, genesis)
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
        self._exchange(st)

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
            self.sink.adopt_exchange(wanted, events, floor=cp - self.o.window)
            log.info("exchange %s adopted (%d past events)", wanted, len(events))
        self._use_exchange(stored or wanted)

    def _use_exchange(self, address: str | None) -> None:
        self.exchange = address.lower() if address else None
        self.sink.exchanges = frozenset([self.exchange] if self.exchange else [])

    def _loop(self, follow: bool) -> None:
        self.programs = {p["points"]: p for p in self.sink.programs()}
        with Reporter(enabled=self.o.progress and not follow) as rep:
            backfilling = True
            while not self.stop.is_set():
                st = self.sink.state()
                assert st is not None
                cp, cp_hash = st["checkpoint_block"], st["checkpoint_hash"]
                retries = self.rpc.retries
                head = head_number(self.rpc)
                if self.rpc.retries != retries:  # the node was away: is it still the same chain?
                    self._check_identity(*chain_identity(self.rpc))
                if not self._reconcile(cp, cp_hash, head):
                    self.rpc.sleep(self.o.poll_interval)
                    continue
                target = head - self.o.confirmations
                if cp >= target:
                    if not follow:
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

    # ------------------------------------------------------------------ reorgs
    def _reconcile(self, cp: int, cp_hash: str | None, head: int) -> bool:
        """True when the stored head is on the node's chain; rolls back a reorg; False = wait."""
        if cp_hash is None:
            return True
        if head < cp:
            stored = dict(self.sink.stored_blocks())
            if head not in stored:
                self._check_identity(*chain_identity(self.rpc))  # a reset: ChainMismatch
                log.warning(
                    "node behind the stored window: head=%d checkpoint=%d; waiting", head, cp
                )
                return False
            at_head = headers(self.rpc, [head])[head]
            if at_head is not None and at_head.hash == stored[head] and self.lag.waiting(head, cp):
                return False
            return self._rollback(cp, head)
        self.lag.caught_up()
        chain = headers(self.rpc, [cp])[cp]
        if chain is None:  # the node (or the backend that answered) is behind: no proof of reorg
            log.info("node has no block %d yet; waiting", cp)
            return False
        if chain.hash == cp_hash:
            return True
        return self._rollback(cp, head)

    def _rollback(self, cp: int, head: int) -> bool:
        stored = self.sink.stored_blocks()
        nums = [n for n, _ in stored if n <= head]
        chain = headers(self.rpc, nums)
        expect = cp
        for n, h in stored:
            if n > head:
                expect = n - 1
                continue
            if n != expect:  # a gap in the stored window: cannot prove the ancestor
                break
            c = chain.get(n)
            if c is None:  # the node lost sight of block n: behind, not proof of a reorg
                log.info("node has no block %d; waiting before deciding on a reorg", n)
                return False
            if c.hash == h:
                removed = self.sink.rollback(n, h, ancestor_time=c.timestamp)
                self.programs = {p["points"]: p for p in self.sink.programs()}
                log.warning(
                    "reorg: rolled back blocks %d..%d to common ancestor %d (%d events removed)",
                    n + 1,
                    cp,
                    n,
                    removed,
                )
                return False
            expect = n - 1
        raise ReorgTooDeep(cp, self.o.window)

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
        win_lo = max(a, head - self.o.window + 1)
        t0 = time.perf_counter()
        hdrs = headers(self.rpc, list(range(win_lo, end_max + 1))) if win_lo <= end_max else {}
        addrs = self._addresses()
        got = self._take_prefetch(a, end_max, addrs)
        if got is None:
            got = self._fetch_decode(self.fetcher, addrs, a, end_max, frozenset(self.programs))
        fetched_end, end, events, dt = got
        self.timings["decode"] += dt
        if backfilling and end == fetched_end and end + self.fetcher.size < head - self.o.window:
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
            floor=head - self.o.window,
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
            self._pre_rpc = Rpc(self.o.rpc_url, timeout=self.o.rpc_timeout, stop=self.stop)
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

    _discover = discover_programs

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
