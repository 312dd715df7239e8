"""The notification sender of this API process: one daemon thread, started on the first send
or trigger run, that sends queued notifications and runs every brand's triggers every
TRIGGER_PERIOD seconds."""

from __future__ import annotations

import contextlib
import logging
import threading

from loyalty_ledger.crm.deliver import deliver_forever
from loyalty_ledger.crm.triggers import run_triggers
from loyalty_ledger.errors import LedgerError

from .deps import AppState

TRIGGER_PERIOD = 300.0
log = logging.getLogger("api")
_started: set[int] = set()
_lock = threading.Lock()


def triggers_now(state: AppState) -> dict[str, dict[str, int]]:
    """Run every brand's triggers once."""
    out = {}
    with contextlib.suppress(LedgerError):  # no deployment yet
        for bid, program in state.deployment.programs.items():
            out[bid] = run_triggers(engine=state.engine, settings=state.settings, program=program)
    return out


def ensure_delivery(state: AppState) -> None:
    """Start sending queued notifications in the background (once per app; stops with it)."""
    with _lock:
        if id(state) in _started:
            return
        _started.add(id(state))
    threading.Thread(
        target=deliver_forever,
        args=(state.engine, state.settings, state.stop),
        kwargs={"poll": 0.5, "periodic": lambda: triggers_now(state), "period": TRIGGER_PERIOD},
        name="notify-delivery",
        daemon=True,
    ).start()
