"""`loyalty index`: the Typer sub-app the main CLI mounts."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from loyalty_ledger.errors import LedgerError

index_app = typer.Typer(help="Mirror the network's events into SQL.")


@index_app.command("index")
def index(
    ctx: typer.Context,
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
    window: Annotated[
        int | None,
        typer.Option(min=1, help="Blocks kept for reorg handling [default: the mirror's, or 64]"),
    ] = None,
    give_up_after: Annotated[
        float,
        typer.Option(min=0.0, help="Without --follow: seconds to retry a node that fails"),
    ] = 60.0,
    raw_only: Annotated[bool, typer.Option(help="Store raw events only, no derived state")] = False,
) -> None:
    """Backfill the mirror, then follow the head with --follow."""
    import logging

    from loyalty_ledger.cli.context import fail, wants_json
    from loyalty_ledger.config import Settings
    from loyalty_ledger.indexer.runner import run_indexer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    root = getattr(ctx.find_root().obj, "settings", None)
    settings = root if isinstance(root, Settings) else Settings()
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
            give_up_after=give_up_after,
            derived=not raw_only,
        )
    except LedgerError as exc:  # the indexer's refusals, a node that keeps failing
        fail(exc, as_json=wants_json(ctx), code=2)
    if not follow and not stats.get("finished"):
        stopped = LedgerError(
            f"stopped before catching up with the node ({stats.get('events', 0)} events "
            "indexed meanwhile); run it again to go on"
        )
        fail(stopped, as_json=wants_json(ctx), code=1)
    if wants_json(ctx):
        typer.echo(json.dumps({"events": stats.get("events", 0), **stats}, default=str))
    else:
        typer.echo(f"indexed {stats.get('events', 0)} events")
