"""A watch on a job's own anvil: restart it from its saved state when it dies, and say so."""

from __future__ import annotations

import time
from collections.abc import Callable

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.chainstate import Dump
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.health import Outages


class NodeWatch:
    """Restarts the job's own anvil when it dies, from its saved state (and says so); after
    `limit` restarts within `period` seconds it gives up and the job stops cleanly."""

    def __init__(
        self,
        node: Anvil,
        say: Callable[[str], None],
        *,
        on_restart: Callable[[Dump | None], None],
        outages: Outages,
        limit: int = 3,
        period: float = 60.0,
    ) -> None:
        self.node, self.say, self.on_restart, self.outages = node, say, on_restart, outages
        self.limit, self.period = limit, period
        self.restarts: list[float] = []

    def check(self) -> str | None:
        """None while all is well (or after a restart); why the job must stop otherwise."""
        code = self.node.exit_code()
        if code is None:
            return None
        tail = self.node.log_tail(200).replace("\n", " ")
        why = f"anvil exited with code {code}" + (f" ({tail})" if tail else "")
        self.outages.down("node", why, action="restarting it from its saved state")
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < self.period]
        if len(self.restarts) >= self.limit:
            return f"{why}, {self.limit + 1} times within {self.period:g}s: stopping"
        self.say(f"chain: {why}; restarting it from its saved state")
        try:
            dump = self.node.restart()
        except Exception as exc:  # a state that cannot load, a port taken meanwhile: stop
            detail = exc.message if isinstance(exc, LedgerError) else repr(exc)
            return f"anvil could not be restarted: {detail}"
        self.restarts.append(now)
        self.on_restart(dump)
        down_for = self.outages.up("node") or 0.0
        origin = f"its state saved at block {dump.head}" if dump else "a new chain (no state)"
        self.say(f"chain: anvil restarted at {self.node.url} from {origin} in {down_for:.1f}s")
        return None
