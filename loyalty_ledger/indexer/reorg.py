"""Is the mirror's head on the node's chain? Reorgs, a node behind the checkpoint, a chain rolled
back below it (`evm_revert`, a reorg to a shorter chain) or reset.

A node whose head is below the checkpoint while its blocks up to that head match the stored
ones is either behind (a lagging backend) or rolled back: a follower waits up to `lag_grace`
seconds for it to catch up, then rolls the mirror back to the node's head; a one-shot run rolls
back at once (re-indexing costs little, and the mirror must not hold blocks the node denies).
A head below the stored window cannot be reconciled: the run stops with a clear error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum

from .errors import NodeBehindMirror, ReorgTooDeep
from .fetch import headers
from .rpc import Rpc
from .sink import Sink

log = logging.getLogger("loyalty_ledger.indexer")


class Verdict(Enum):
    OK = "ok"  # the stored head is on the node's chain
    ROLLED_BACK = "rolled back"  # a reorg was undone: look again
    WAIT = "wait"  # nothing provable yet: ask again later (`Reconciler.waiting` says why)


class Reconciler:
    """Checks the stored head against the node and rolls back to the common ancestor."""

    def __init__(
        self,
        rpc: Rpc,
        sink: Sink,
        *,
        window: Callable[[], int],
        lag_grace: float,
        check_identity: Callable[[], None],
    ) -> None:
        self.rpc, self.sink = rpc, sink
        self.window = window
        self.lag_grace = lag_grace
        self.check_identity = check_identity
        self.waiting: str | None = None  # why the last check said WAIT
        self._behind_since: float | None = None
        self._said: tuple[str, float] = ("", 0.0)

    def check(self, cp: int, cp_hash: str | None, head: int) -> Verdict:
        self.waiting = None
        if cp_hash is None:
            return Verdict.OK
        if head < cp:
            return self._below(cp, head)
        self._behind_since = None
        chain = headers(self.rpc, [cp])[cp]
        if chain is None:  # the node (or the backend that answered) is behind: no proof of reorg
            return self._wait(f"the node has no block {cp} yet (head {head})")
        if chain.hash == cp_hash:
            return Verdict.OK
        return self._rollback(cp, head)

    def _below(self, cp: int, head: int) -> Verdict:
        stored = dict(self.sink.stored_blocks())
        lowest = min(stored, default=cp)
        if head < lowest:
            self.check_identity()  # another genesis: ChainMismatch says the chain was reset
            raise NodeBehindMirror(self.rpc.url, head, cp, lowest, self.window())
        at_head = headers(self.rpc, [head])[head]
        if at_head is not None and at_head.hash == stored.get(head):
            now = time.monotonic()
            since = self._behind_since = self._behind_since or now
            if now - since < self.lag_grace:
                return self._wait(
                    f"the node's head {head} is below the checkpoint {cp} (its blocks match up "
                    f"to {head}): waiting up to {self.lag_grace:g}s for it to catch up before "
                    "rolling back"
                )
            log.warning(
                "the node's head %d is below the checkpoint %d: blocks %d..%d are not on its "
                "chain (rolled back, e.g. evm_revert, or a node far behind); rolling back",
                head,
                cp,
                head + 1,
                cp,
            )
        self._behind_since = None
        return self._rollback(cp, head)

    def _rollback(self, cp: int, head: int) -> Verdict:
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
                return self._wait(f"the node has no block {n}; waiting before deciding on a reorg")
            if c.hash == h:
                removed = self.sink.rollback(n, h, ancestor_time=c.timestamp)
                log.warning(
                    "reorg: rolled back blocks %d..%d to common ancestor %d (%d events removed)",
                    n + 1,
                    cp,
                    n,
                    removed,
                )
                return Verdict.ROLLED_BACK
            expect = n - 1
        raise ReorgTooDeep(cp, self.window(), min((n for n, _ in stored), default=cp))

    def _wait(self, reason: str) -> Verdict:
        """Say why the indexer waits: once, then every 10 s while the reason lasts."""
        self.waiting = reason
        now = time.monotonic()
        if reason != self._said[0] or now - self._said[1] >= 10.0:
            log.info("%s", reason)
            self._said = (reason, now)
        return Verdict.WAIT
