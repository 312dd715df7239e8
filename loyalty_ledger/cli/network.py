"""`loyalty chain up`, `loyalty deploy` and `loyalty brand add`: the node and the network."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated, Any

import typer

from loyalty_ledger.cli.context import STOP_SIGNALS, Ctx, Key, _emit, _run
from loyalty_ledger.errors import LedgerError

chain_app = typer.Typer(no_args_is_help=True, help="Run a local anvil node.")
brand_app = typer.Typer(no_args_is_help=True, help="Brand programs.")


@chain_app.command("up")
def chain_up(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="Port (default: the RPC URL's).")] = None,
    block_time: Annotated[float | None, typer.Option(help="Seconds per block.")] = None,
    chain_id: Annotated[int | None, typer.Option(help="Chain id.")] = None,
    keep: Annotated[
        bool, typer.Option(help="Keep the chain in the data dir and reload it on the next start.")
    ] = True,
) -> None:
    """Start anvil (or reuse the node at the RPC URL) and keep it running until Ctrl-C.

    The chain lives in <data dir>/chain (saved every few seconds, and on stop) and is reloaded
    on the next start; an anvil that dies is restarted from it."""

    def run(c: Ctx) -> None:
        from loyalty_ledger.chain.anvil import Anvil
        from loyalty_ledger.chain.chainstate import ChainState

        say = (lambda _line: None) if c.json else (lambda line: typer.echo(line, err=True))
        state = ChainState.of(c.settings) if keep else None
        node = Anvil(
            url=c.settings.rpc_url,
            port=port,
            block_time=block_time,
            chain_id=chain_id,
            state=state,
            say=say,
        )
        stop = threading.Event()
        # Handlers go in before anvil starts, so a signal never leaves an orphaned node.
        previous = {s: signal.signal(s, lambda *_: stop.set()) for s in STOP_SIGNALS}
        try:
            node.start()
            pid = node.process.pid if node.process else None
            loaded = f" from its saved state (block {node.loaded.head})" if node.loaded else ""
            _emit(
                c,
                {"url": node.url, "reused": node.reused, "pid": pid},
                f"anvil {'already running' if node.reused else 'running'} at {node.url}{loaded}",
            )
            _watch(node, stop, say)
        finally:
            node.stop()  # a no-op for a reused node
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    _run(ctx, run)


def _watch(node: Any, stop: threading.Event, say: Any) -> None:
    """Until `stop`: restart a node that died, from its saved state (at most 3 times a minute)."""
    if node.reused or node.process is None:
        return
    from loyalty_ledger.health import Outages
    from loyalty_ledger.service.watch import NodeWatch

    outages = Outages("chain", logging.getLogger("loyalty_ledger.chain"))
    watch = NodeWatch(node, say, on_restart=lambda _dump: None, outages=outages)
    while not stop.wait(0.5):
        why = watch.check()
        if why is not None:
            raise LedgerError(why)


def deploy(
    ctx: typer.Context,
    demo: Annotated[bool, typer.Option(help="Also add a demo brand 'demo'.")] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing live deployment.")] = False,
    key: Key = None,
) -> None:
    """Deploy the network (registry + forwarder) and write the deployment file."""

    def run(c: Ctx) -> None:
        from loyalty_ledger.chain.deploy import Deployment, add_brand, deploy_network
        from loyalty_ledger.errors import LedgerError
        from loyalty_ledger.validate import checksum_address

        path = c.settings.deployment_file
        if path.exists() and not force:
            old = Deployment.load(path)
            if old.chain_id == c.w3.eth.chain_id and c.w3.eth.get_code(
                checksum_address(old.registry)
            ):
                raise LedgerError(f"{path} points at a live deployment; use --force to replace")
        operator = c.sender("operator", key)
        dep = deploy_network(c.w3, operator)
        if demo:
            add_brand(
                c.w3,
                operator,
                dep,
                brand_id="demo",
                name="Demo Points",
                symbol="DEMO",
                admin=c.account("brand", None).address,
                tiers=["Silver", "Gold", "Platinum"],
            )
        dep.save(path)
        _emit(
            c,
            dep.to_json(),
            f"deployed registry {dep.registry}, forwarder {dep.forwarder}"
            f"{' and brand demo' if demo else ''} → {path}",
        )

    _run(ctx, run)


@brand_app.command("add")
def brand_add(
    ctx: typer.Context,
    brand_id: str,
    name: Annotated[str, typer.Option(help="Points token name.")],
    symbol: Annotated[str, typer.Option(help="Points token symbol.")],
    admin: Annotated[str, typer.Option(help="Brand admin address.")],
    tier: Annotated[list[str], typer.Option(help="Tier names, lowest first (repeat).")],
    key: Key = None,
) -> None:
    """Deploy a brand's points and pass contracts and register the program (operator)."""

    def run(c: Ctx) -> None:
        from loyalty_ledger.chain.deploy import add_brand

        dep = c.deployment()
        prog = add_brand(
            c.w3,
            c.sender("operator", key),
            dep,
            brand_id=brand_id,
            name=name,
            symbol=symbol,
            admin=admin,
            tiers=tier,
        )
        dep.save(c.settings.deployment_file)
        _emit(c, prog.to_json(), f"brand {brand_id}: points {prog.points}, pass {prog.pass_}")

    _run(ctx, run)
