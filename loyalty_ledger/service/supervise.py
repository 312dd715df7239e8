"""The main job's running half: the indexer thread, the API, the daily rules run (birthdays,
tiers) and a watch on the job's own anvil.

Nothing here stops the job on what heals by itself: a database or a node that goes away is
waited for (the indexer retries, the API answers 503 meanwhile), and the job's own anvil is
restarted from its saved state when it dies. The job stops on what cannot heal: a chain reset
under the mirror, a reorganisation deeper than the indexer's window, an anvil that keeps dying.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from sqlalchemy import inspect

from api.main import create_app, serve
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.chainstate import Dump
from loyalty_ledger.config import Settings
from loyalty_ledger.health import Outages
from loyalty_ledger.indexer.errors import ChainMismatch, ReorgTooDeep
from loyalty_ledger.indexer.runner import run_indexer
from loyalty_ledger.service.daily import keep_daily
from loyalty_ledger.service.progress import watch_catch_up
from loyalty_ledger.service.watch import NodeWatch
from loyalty_ledger.store import make_engine
from loyalty_ledger.store.outbox import reopen_lost

log = logging.getLogger("loyalty_ledger.service")


def resend_lost(settings: Settings, head: int, say: Callable[[str], None]) -> None:
    """The chain was reloaded at `head`: outbox transactions mined above it are sent again."""
    assert settings.database_url is not None
    engine = make_engine(settings.database_url)
    try:
        if not inspect(engine).has_table("outbox_tx"):
            return
        if n := reopen_lost(engine, head):
            say(f"outbox: {n} transaction(s) mined after block {head} were lost; sending again")
    finally:
        engine.dispose()


def why_indexer_stopped(exc: BaseException) -> str:
    if isinstance(exc, ChainMismatch):
        return f"the chain was reset under the mirror: {exc}"
    if isinstance(exc, ReorgTooDeep):
        return f"the mirror cannot follow the chain: {exc}"
    return f"the indexer stopped: {exc}"


def serve_and_watch(settings: Settings, node: Anvil, say: Callable[[str], None]) -> int:
    """Follow the chain and serve the API until a signal or what cannot heal."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    failure: list[str] = []
    indexer_outages = Outages("indexer", logging.getLogger("loyalty_ledger.indexer"))
    own = node.process is not None  # our own node cannot lag: a head below the mirror is a loss
    extra = {"lag_grace": 0.0} if own else {}

    def index() -> None:
        try:
            run_indexer(settings, follow=True, stop_event=stop, outages=indexer_outages, **extra)
        except BaseException as exc:  # surfaced below, then the job stops
            failure.append(why_indexer_stopped(exc))
            stop.set()

    app = create_app(settings, indexer_outages=indexer_outages)
    state = app.state.api

    def restarted(dump: Dump | None) -> None:
        state.chain_restarted()
        if dump is not None:
            resend_lost(settings, dump.head, say)

    watch = NodeWatch(node, say, on_restart=restarted, outages=state.outages)
    indexer = threading.Thread(target=index, name="indexer", daemon=True)
    indexer.start()
    say(f"indexer: following the chain into {settings.database_url}")
    watch_catch_up(settings, stop, say)
    api = serve(settings, stop, app=app)
    base = f"http://{settings.api_host}:{settings.api_port}"
    say(f"API: {base}  (docs {base}/docs, health {base}/health)")
    daily = keep_daily(state, stop, say)  # birthdays and tiers, at start and each UTC day
    say("Ctrl-C stops everything")
    try:
        while not stop.wait(0.5):
            if not api.is_alive():
                failure.append(f"the API could not serve on {base}")
                stop.set()
            elif own and (why := watch.check()) is not None:
                failure.append(why)
                stop.set()
    except KeyboardInterrupt:
        stop.set()
    state.stop.set()  # the submitters
    indexer.join(timeout=10)
    api.join(timeout=10)
    daily.join(timeout=10)
    if failure:
        say(f"error: {failure[0]}")
        return 1
    return 0
