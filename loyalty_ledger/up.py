"""The main job: a local chain, the demo network, the indexer following it, and the API."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from web3 import Web3

from api.main import serve

from .anvil import Anvil
from .chain import connect_settings
from .config import Settings
from .demo import seed_demo
from .deploy import Deployment
from .indexer.runner import run_indexer
from .store.engine import default_database_url

log = logging.getLogger(__name__)


def live_deployment(w3: Web3, path: Path) -> Deployment | None:
    """The deployment in `path` if its contracts exist on this chain, else None."""
    if not path.exists():
        return None
    dep = Deployment.load(path)
    if dep.chain_id != w3.eth.chain_id or not w3.eth.get_code(dep.registry):
        return None
    return dep


def _retire_embedded_db(settings: Settings, say: Callable[[str], None]) -> None:
    """A new chain cannot share the embedded SQLite mirror of an old one: move it aside."""
    if settings.database_url != default_database_url(settings.data_dir):
        return  # a configured database is the operator's; the indexer refuses a mismatch
    db = settings.data_dir / "ledger.db"
    if db.exists():
        backup = db.with_name(f"ledger.{time.strftime('%Y%m%d-%H%M%S')}.db")
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{db}{suffix}")
            if old.exists():
                old.rename(f"{backup}{suffix}")
        say(f"the chain is new: the old mirror was moved to {backup}")


def up(settings: Settings, *, say: Callable[[str], None] = print) -> int:
    """Run chain + deployment + indexer + API until Ctrl-C or SIGTERM; returns an exit code."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    node = Anvil(url=settings.rpc_url).start()
    try:
        say(f"chain: {'reusing the node' if node.reused else 'anvil started'} at {node.url}")
        w3 = connect_settings(settings)
        dep = live_deployment(w3, settings.deployment_file)
        if dep is None:
            _retire_embedded_db(settings, say)
            dep = seed_demo(w3, settings, say).deployment
            settings.deployment_file.parent.mkdir(parents=True, exist_ok=True)
            dep.save(settings.deployment_file)
        say(f"network: registry {dep.registry}, brands {', '.join(dep.programs)}")
        say(f"deployment file: {settings.deployment_file}")
        failure: list[BaseException] = []

        def index() -> None:
            try:
                run_indexer(settings, follow=True, stop_event=stop)
            except BaseException as exc:  # surfaced below, then the job stops
                failure.append(RuntimeError(f"the indexer stopped: {exc}"))
                stop.set()

        indexer = threading.Thread(target=index, name="indexer", daemon=True)
        indexer.start()
        say(f"indexer: following the chain into {settings.database_url}")
        api = serve(settings, stop)
        base = f"http://{settings.api_host}:{settings.api_port}"
        say(f"API: {base}  (docs {base}/docs, health {base}/health)")
        say("Ctrl-C stops everything")
        try:
            while not stop.wait(0.5):
                if not api.is_alive():
                    failure.append(RuntimeError(f"the API could not serve on {base}"))
                    stop.set()
        except KeyboardInterrupt:
            stop.set()
        indexer.join(timeout=10)
        api.join(timeout=10)
        if failure:
            say(f"error: {failure[0]}")
            return 1
        return 0
    finally:
        node.stop()
