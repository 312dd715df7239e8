"""The notification sender of this API process: one daemon thread, started on the first send."""

from __future__ import annotations

import threading

from loyalty_ledger.crm.deliver import deliver_forever

from .deps import AppState

_started: set[int] = set()
_lock = threading.Lock()


def ensure_delivery(state: AppState) -> None:
    """Start sending queued notifications in the background (once per app; stops with it)."""
    with _lock:
        if id(state) in _started:
            return
        _started.add(id(state))
    threading.Thread(
        target=deliver_forever,
        args=(state.engine, state.settings, state.stop),
        kwargs={"poll": 0.5},
        name="notify-delivery",
        daemon=True,
    ).start()
