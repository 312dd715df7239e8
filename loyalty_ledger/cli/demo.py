"""`loyalty demo`: a living demo program — chain, realistic data, indexer, API and dashboard."""

from __future__ import annotations

from typing import Annotated

import typer

from loyalty_ledger.config import Settings, get_settings
from loyalty_ledger.errors import LedgerError

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
    json_out: Annotated[bool, typer.Option("--json", help="Links as one JSON line.")] = False,
) -> None:
    """Deploy two brands with months of purchases, surveys, gifts and redemptions; index them;
    serve the dashboard until Ctrl-C. Uses the node at the RPC URL (starts anvil if none)."""
    if ctx.invoked_subcommand is not None:
        return
    from loyalty_ledger.cli.context import fail, job_announce, job_say, wants_json
    from loyalty_ledger.service.up import DemoScale, up

    as_json = json_out or wants_json(ctx)
    try:
        code = up(
            _settings(ctx),
            scale=DemoScale(members=members, months=months, seed=seed),
            fresh_only=True,
            serve_api=serve,
            say=job_say(as_json),
            announce=job_announce(as_json),
        )
    except LedgerError as err:
        fail(err, as_json=as_json, code=1)
    if code:
        raise typer.Exit(code)
