"""Send what a command queued in the outbox for one key, for a bounded time (the tier job
run from the command line, where no API submitter may be running)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from loyalty_ledger.chain.sender import Sender
    from loyalty_ledger.config import Settings


def send_queued(engine: Engine, sender: Sender, settings: Settings, seconds: float) -> bool:
    """Drive a submitter for `sender` while it holds the key's lease (another process's
    submitter may hold it instead: then that one sends); True once nothing is left to send."""
    from loyalty_ledger.chain.submitter import Submitter
    from loyalty_ledger.store import outbox as sql
    from loyalty_ledger.store.lease import Lease

    url = engine.url.render_as_string(hide_password=False)
    lease = Lease(url, f"submitter:{sender.address}")
    deadline = time.monotonic() + seconds
    try:
        held = lease.try_acquire()
        sub = Submitter(sender, sql.SqlOutbox(engine, sender.address), batch_ms=0)
        if held:
            sub.start()
        while time.monotonic() < deadline:
            if held:
                sub.step()
            left = sql.counts(engine, sender.address)
            if not left.get("queued") and not left.get("sent"):
                return True
            time.sleep(0.05)
        return False
    finally:
        lease.release()
