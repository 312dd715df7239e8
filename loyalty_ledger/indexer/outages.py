"""A following indexer outlives a database that goes away (a restart, a failover, a network
hiccup): each run that fails for it is dropped whole (its transaction rolled back, its writer
lock gone with its connection) and a new run starts once the database answers again, from the
checkpoint the database holds, so nothing is lost and nothing is written twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..health import Outages
from ..store.engine import database_unavailable, probe

__all__ = ["Outages", "through_outages"]
log = logging.getLogger("loyalty_ledger.indexer")

BACKOFF, MAX_BACKOFF = 0.25, 2.0  # seconds between tries while the database is away


def through_outages(
    run: Callable[[], None],
    database_url: str,
    stop: threading.Event,
    outages: Outages | None = None,
) -> None:
    """`run()` until it returns or `stop` is set; a database failure waits for the database."""
    outages = outages or Outages("indexer", log)
    delay = BACKOFF
    while not stop.is_set():
        if outages.is_down("database"):
            if not probe(database_url):
                delay = min(MAX_BACKOFF, delay * 2)
                stop.wait(delay)
                continue
            outages.up("database")
            delay = BACKOFF
        try:
            run()
            return
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            outages.down(
                "database",
                database_unavailable(exc) or "",
                action=f"the indexer retries every {MAX_BACKOFF:g}s at most",
            )
            stop.wait(delay)
