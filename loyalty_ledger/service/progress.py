"""Progress of the main job's first catch-up: the indexer runs quietly in a thread, so a watcher
says how far the mirror got and when the dashboard shows everything."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests
from sqlalchemy.exc import SQLAlchemyError

from loyalty_ledger.config import Settings
from loyalty_ledger.programme.views import mirror_state
from loyalty_ledger.store import make_engine


def node_head(url: str, timeout: float = 2.0) -> int | None:
    """The node's block number, or None when it does not answer."""
    try:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
        return int(requests.post(url, json=body, timeout=timeout).json()["result"], 16)
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def watch_catch_up(
    settings: Settings,
    stop: threading.Event,
    say: Callable[[str], None],
    *,
    every: float = 5.0,
    poll: float = 0.5,
) -> threading.Thread:
    """Start a thread that says the mirror's block every `every` seconds until it reaches the
    head the node had when it started, then says so once and ends (or ends on `stop`)."""

    def run() -> None:
        assert settings.database_url is not None
        t0 = time.monotonic()
        target = node_head(settings.rpc_url)
        engine = make_engine(settings.database_url)
        said = t0
        try:
            while target is not None and not stop.wait(poll):
                try:
                    state = mirror_state(engine=engine)
                except SQLAlchemyError:  # the indexer has not created its tables yet
                    state = None
                block = int(state["checkpoint_block"]) if state else None
                if block is not None and block >= target - settings.confirmations:
                    say(
                        f"indexer: caught up with block {target} in "
                        f"{time.monotonic() - t0:.0f} s: the dashboard shows everything now"
                    )
                    return
                if time.monotonic() - said >= every:
                    said = time.monotonic()
                    where = "starting" if block is None else f"block {block} of {target}"
                    say(f"indexer: catching up, {where} …")
        finally:
            engine.dispose()

    thread = threading.Thread(target=run, name="catch-up", daemon=True)
    thread.start()
    return thread
