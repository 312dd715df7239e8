"""The main job: a local chain, the demo network, the indexer following it, and the API."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from web3 import Web3

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.chainstate import ChainState
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.sender import connect_settings
from loyalty_ledger.config import Settings
from loyalty_ledger.demo import access
from loyalty_ledger.demo.access import DemoAccess
from loyalty_ledger.demo.seed import seed_realistic_demo
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.indexer.runner import run_indexer
from loyalty_ledger.programme import views
from loyalty_ledger.service.supervise import resend_lost, serve_and_watch
from loyalty_ledger.store.engine import default_database_url, make_engine

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
    access.prepare_demo_member(settings, result.access())
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


def _node_line(node: Anvil) -> str:
    if node.reused:
        return f"chain: reusing the node at {node.url} (its state is its own)"
    kept = f"kept in {node.state.dir}" if node.state else "in memory only"
    if node.loaded is None:
        return f"chain: anvil started at {node.url}: a new chain, {kept}"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(node.loaded.mtime))
    return (
        f"chain: anvil started at {node.url} from its saved state (block {node.loaded.head}, "
        f"saved {when}), {kept}"
    )


def _refuse_reset(w3: Web3, settings: Settings) -> None:
    """A configured database that mirrors another chain: stop before seeding anything into it."""
    assert settings.database_url is not None
    if settings.database_url == default_database_url(settings.data_dir):
        return  # the embedded mirror of an old chain is moved aside instead
    engine = make_engine(settings.database_url)
    try:
        if not inspect(engine).has_table("indexer_state"):
            return
        st = views.mirror_state(engine=engine)
    finally:
        engine.dispose()
    genesis = w3.eth.get_block(0)["hash"].to_0x_hex()
    if st and (st["chain_id"] != w3.eth.chain_id or st["genesis_hash"] != genesis):
        raise LedgerError(
            f"the chain was reset: the node at {settings.rpc_url} serves a new chain (genesis "
            f"{genesis[:12]}…) but {settings.database_url} mirrors chain {st['chain_id']} "
            f"(genesis {st['genesis_hash'][:12]}…). Restore the chain's state "
            f"({settings.data_dir / 'chain'}) or use a new database."
        )


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

    The job's own anvil keeps its chain in the data dir and reloads it on the next start; a
    live deployment in the deployment file is reused (`fresh_only` refuses it instead);
    otherwise the realistic demo is seeded. With `serve_api=False` the job stops once the
    mirror has caught up. The links (dashboards, wallet, a demo customer) are said every run;
    `announce` also gets them as data (`--json`).
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    node = Anvil(url=settings.rpc_url, state=ChainState.of(settings), say=say).start()
    try:
        say(_node_line(node))
        w3 = connect_settings(settings)
        _refuse_reset(w3, settings)
        dep = live_deployment(w3, settings.deployment_file)
        if dep is not None and fresh_only:
            raise LedgerError(
                f"{settings.deployment_file} already holds a network on this chain: use a fresh "
                "node (or another LOYALTY_DEPLOYMENT_FILE / LOYALTY_DATA_DIR) for the demo"
            )
        if dep is None:
            if node.keeper is not None:
                node.keeper.paused = True  # saves would slow seeding; a half demo is no use
            acc = _seed(w3, settings, scale or DemoScale(), say)
            if node.keeper is not None:
                node.keeper.paused = False
        else:
            say(f"network: reusing {settings.deployment_file} (brands {', '.join(dep.programs)})")
            acc = access.for_reuse(settings, dep)
        _show(settings, acc, say, announce)
        if node.loaded is not None:  # what the reload lost, the outbox sends again
            resend_lost(settings, node.loaded.head, say)
        if not serve_api:
            say("indexing the chain into the mirror …")
            run_indexer(settings, follow=False, progress=False)
            return 0
        return serve_and_watch(settings, node, say)
    finally:
        node.stop()
