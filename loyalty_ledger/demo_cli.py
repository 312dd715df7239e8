"""`loyalty demo`: a living demo program — chain, realistic data, indexer, API and dashboard."""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.console import Console

from .anvil import Anvil
from .chain import connect_settings
from .config import Settings, get_settings
from .errors import LedgerError

demo_app = typer.Typer(help="Fill a realistic demo program and serve its dashboard.")


def _settings(ctx: typer.Context) -> Settings:
    settings = getattr(ctx.find_root().obj, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


@demo_app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    members: Annotated[int, typer.Option(min=10, max=100_000, help="Customers.")] = 2000,
    months: Annotated[int, typer.Option(min=1, max=36, help="Months of history.")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same world).")] = 7,
    serve: Annotated[bool, typer.Option(help="Serve the API and follow the chain.")] = True,
) -> None:
    """Deploy two brands with months of purchases, surveys, gifts and redemptions; index them;
    serve the dashboard until Ctrl-C. Uses the node at the RPC URL (starts anvil if none)."""
    if ctx.invoked_subcommand is not None:
        return
    from .demo_data import seed_realistic_demo
    from .indexer.runner import run_indexer
    from .up import live_deployment

    say = lambda line: Console(soft_wrap=True).print(line, highlight=False)  # noqa: E731
    settings = _settings(ctx)
    node = Anvil(url=settings.rpc_url).start()
    try:
        w3 = connect_settings(settings)
        if live_deployment(w3, settings.deployment_file) is not None:
            raise LedgerError(
                f"{settings.deployment_file} already holds a network on this chain: use a fresh "
                "node (or another --deployment / LOYALTY_DATA_DIR) for the demo"
            )
        result = seed_realistic_demo(
            w3, settings, members=members, months=months, seed=seed, say=say
        )
        settings.deployment_file.parent.mkdir(parents=True, exist_ok=True)
        result.deployment.save(settings.deployment_file)
        say("indexing the chain into the mirror …")
        run_indexer(settings, follow=False, progress=False)
        say(f"demo ready: {result.figures}")
        base = f"http://{settings.api_host}:{settings.api_port}"
        for bid, key in result.viewer_keys.items():
            say(f"dashboard ({bid}): {base}/dashboard#brand={bid}&key={key}")
        say(f"wallet: {base}/wallet")
        if not serve:
            return
        from api.main import serve as serve_api

        stop = threading.Event()
        api = serve_api(settings, stop)
        indexer = threading.Thread(
            target=run_indexer,
            args=(settings,),
            kwargs={"follow": True, "stop_event": stop},
            name="indexer",
            daemon=True,
        )
        indexer.start()
        say("serving (Ctrl-C stops)")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            stop.set()
        api.join(10)
        indexer.join(10)
    except LedgerError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        node.stop()
