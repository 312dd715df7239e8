"""`loyalty demo`: a living demo program — chain, realistic data, indexer, API and dashboard."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

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
) -> None:
    """Deploy two brands with months of purchases, surveys, gifts and redemptions; index them;
    serve the dashboard until Ctrl-C. Uses the node at the RPC URL (starts anvil if none)."""
    if ctx.invoked_subcommand is not None:
        return
    from loyalty_ledger.service.up import DemoScale, up

    say = lambda line: Console(soft_wrap=True).print(line, highlight=False)  # noqa: E731
    try:
        code = up(
            _settings(ctx),
            scale=DemoScale(members=members, months=months, seed=seed),
            fresh_only=True,
            serve_api=serve,
            say=say,
        )
    except LedgerError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from None
    if code:
        raise typer.Exit(code)
