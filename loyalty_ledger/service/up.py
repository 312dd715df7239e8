"""The main job: a local chain, the demo network, the indexer following it, and the API."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from api.main import serve
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.sender import connect_settings
from loyalty_ledger.config import Settings
from loyalty_ledger.demo import access
from loyalty_ledger.demo.access import DemoAccess
from loyalty_ledger.demo.seed import seed_realistic_demo
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.indexer.runner import run_indexer
from loyalty_ledger.service.progress import watch_catch_up
from loyalty_ledger.store.engine import default_database_url

Announce = Callable[[dict[str, Any]], None] | None


@dataclass(frozen=True)
class DemoScale:
    """How big a demo to seed on a fresh chain."""

    members: int = 2000
    months: int = 6
    seed: int = 7


def live_deployment(w3: Web3, path: Path) -> Deployment | None:
    """The deployment in `path` if its contracts exist on this chain, else None."""
    if not path.exists():
        return None
    dep = Deployment.load(path)
    if dep.chain_id != w3.eth.chain_id or not w3.eth.get_code(
        Web3.to_checksum_address(dep.registry)
    ):
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


def _seed(w3: Web3, settings: Settings, scale: DemoScale, say: Callable[[str], None]) -> DemoAccess:
    """Seed the realistic demo, save the deployment and what gets a person in."""
    _retire_embedded_db(settings, say)
    result = seed_realistic_demo(
        w3, settings, members=scale.members, months=scale.months, seed=scale.seed, say=say
    )
    settings.deployment_file.parent.mkdir(parents=True, exist_ok=True)
    result.deployment.save(settings.deployment_file)
    say(f"demo: {result.figures}")
    access.save(settings.data_dir, result.access())
    return result.access()


def _show(
    settings: Settings, acc: DemoAccess, say: Callable[[str], None], announce: Announce
) -> None:
    """Print the dashboard and wallet links and how to sign in (and the JSON, if asked)."""
    base = f"http://{settings.api_host}:{settings.api_port}"
    for line in access.lines(acc, base=base, rpc_url=settings.rpc_url):
        say(line)
    if announce is not None:
        announce(access.links(acc, base=base, rpc_url=settings.rpc_url))


def up(
    settings: Settings,
    *,
    scale: DemoScale | None = None,
    fresh_only: bool = False,
    serve_api: bool = True,
    say: Callable[[str], None] = print,
    announce: Announce = None,
) -> int:
    """Chain + demo + indexer + API until Ctrl-C or SIGTERM; returns an exit code.

    A live deployment in the deployment file is reused (`fresh_only` refuses it instead);
    otherwise the realistic demo is seeded. With `serve_api=False` the job stops once the
    mirror has caught up. The links (dashboards, wallet, a demo customer) are said every run;
    `announce` also gets them as data (`--json`).
    """
    node = Anvil(url=settings.rpc_url).start()
    try:
        say(f"chain: {'reusing the node' if node.reused else 'anvil started'} at {node.url}")
        w3 = connect_settings(settings)
        dep = live_deployment(w3, settings.deployment_file)
        if dep is not None and fresh_only:
            raise LedgerError(
                f"{settings.deployment_file} already holds a network on this chain: use a fresh "
                "node (or another LOYALTY_DEPLOYMENT_FILE / LOYALTY_DATA_DIR) for the demo"
            )
        if dep is None:
            acc = _seed(w3, settings, scale or DemoScale(), say)
        else:
            say(f"network: reusing {settings.deployment_file} (brands {', '.join(dep.programs)})")
            acc = access.for_reuse(settings, dep)
        _show(settings, acc, say, announce)
        if not serve_api:
            say("indexing the chain into the mirror …")
            run_indexer(settings, follow=False, progress=False)
            return 0
        return _serve(settings, say)
    finally:
        node.stop()


def _serve(settings: Settings, say: Callable[[str], None]) -> int:
    """Follow the chain and serve the API until a signal or a failure."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    failure: list[str] = []

    def index() -> None:
        try:
            run_indexer(settings, follow=True, stop_event=stop)
        except BaseException as exc:  # surfaced below, then the job stops
            failure.append(f"the indexer stopped: {exc}")
            stop.set()

    indexer = threading.Thread(target=index, name="indexer", daemon=True)
    indexer.start()
    say(f"indexer: following the chain into {settings.database_url}")
    watch_catch_up(settings, stop, say)
    api = serve(settings, stop)
    base = f"http://{settings.api_host}:{settings.api_port}"
    say(f"API: {base}  (docs {base}/docs, health {base}/health)")
    say("Ctrl-C stops everything")
    try:
        while not stop.wait(0.5):
            if not api.is_alive():
                failure.append(f"the API could not serve on {base}")
                stop.set()
    except KeyboardInterrupt:
        stop.set()
    indexer.join(timeout=10)
    api.join(timeout=10)
    if failure:
        say(f"error: {failure[0]}")
        return 1
    return 0
