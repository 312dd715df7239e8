"""How long a node may stay behind the mirror's checkpoint before its head is taken as the truth.

A node whose head is below the checkpoint while its blocks up to that head match the stored
ones is either behind (a lagging backend: wait) or rolled back (an embedded chain reloaded from
a state saved a few seconds before a crash: the mirror must drop the blocks the node lost).
After `grace` seconds it is taken as rolled back; the main job's own node gets no grace.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("loyalty_ledger.indexer")


class Lag:
    """Tracks a node behind the checkpoint."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.since: float | None = None

    def waiting(self, head: int, cp: int) -> bool:
        """True: wait for the node; False: roll the mirror back to its head (said once)."""
        now = time.monotonic()
        since = self.since = self.since or now
        if now - since < self.grace:
            log.info("node behind: head=%d checkpoint=%d; waiting", head, cp)
            return True
        log.warning(
            "the node's head %d is below the checkpoint %d: blocks %d..%d are not on its chain "
            "(rolled back, or a chain reloaded from a saved state); rolling back",
            head,
            cp,
            head + 1,
            cp,
        )
        self.since = None
        return False

    def caught_up(self) -> None:
        self.since = None
