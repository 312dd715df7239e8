"""`loyalty index`: the Typer sub-app the main CLI mounts."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    pass

index_app = typer.Typer(help="Mirror the network's events into SQL.")


@index_app.command("index")
def index(
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Keep following the head")
    ] = False,
    from_block: Annotated[int | None, typer.Option(help="Start block (new mirrors only)")] = None,
    database: Annotated[str | None, typer.Option("--database", help="Database URL")] = None,
    rpc_url: Annotated[str | None, typer.Option("--rpc-url", help="JSON-RPC URL")] = None,
    deployment: Annotated[Path | None, typer.Option("--deployment", help="Deployment file")] = None,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between polls when following")
    ] = 0.1,
    window: Annotated[int, typer.Option(help="Blocks kept for reorg handling")] = 64,
    raw_only: Annotated[bool, typer.Option(help="Store raw events only, no derived state")] = False,
) -> None:
    """Backfill the mirror, then follow the head with --follow."""
    import logging

    from loyalty_ledger.config import Settings
    from loyalty_ledger.indexer.errors import IndexerError
    from loyalty_ledger.indexer.runner import run_indexer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings()
    updates = {
        k: v
        for k, v in (
            ("database_url", database),
            ("rpc_url", rpc_url),
            ("deployment_file", deployment),
        )
        if v is not None
    }
    if updates:
        settings = settings.model_copy(update=updates)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stats = run_indexer(
            settings,
            follow=follow,
            stop_event=stop,
            from_block=from_block,
            poll_interval=poll_interval,
            window=window,
            derived=not raw_only,
        )
    except IndexerError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"indexed {stats.get('events', 0)} events")
