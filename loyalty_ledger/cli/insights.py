"""`loyalty insights report`: every metric of a brand for a period, as tables or JSON; and
`loyalty insights settings`: the brand's churn window."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loyalty_ledger.config import Settings, get_settings
from loyalty_ledger.errors import LedgerError, LedgerValueError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from loyalty_ledger.chain.deploy import Program

insights_app = typer.Typer(no_args_is_help=True, help="Loyalty metrics of a brand.")


@insights_app.callback()
def _group() -> None:
    """Loyalty metrics of a brand: CLV, churn, retention, basket, frequency, NPS, points;
    the brand's churn window."""


def _settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    settings = getattr(obj, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


@insights_app.command("report")
def report_command(
    ctx: typer.Context,
    brand: Annotated[str, typer.Option("--brand", help="Brand id.")],
    start: Annotated[
        str | None, typer.Option("--from", help="Start date YYYY-MM-DD (UTC).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="End date YYYY-MM-DD, exclusive.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every metric of a brand for a period (default: the last three full months and this
    month to date)."""
    from loyalty_ledger.insights.render import print_report
    from loyalty_ledger.insights.report import full_report, period_for

    def build(engine: Engine, program: Program) -> dict[str, Any]:
        period = period_for(engine=engine, program=program, start=start, end=end)
        return full_report(engine=engine, program=program, period=period)

    rep, as_json = _run(ctx, brand, json_out, build)
    if as_json:
        typer.echo(json.dumps(rep))
    else:
        print_report(rep)


@insights_app.command("settings")
def settings_command(
    ctx: typer.Context,
    brand: Annotated[str, typer.Option("--brand", help="Brand id.")],
    churn_days: Annotated[
        int | None,
        typer.Option("--churn-days", help="Days without a purchase that make a customer churned."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show or set a brand's insights settings (the churn window, default 90 days)."""
    from loyalty_ledger.insights import settings as insights_settings

    def apply(engine: Engine, program: Program) -> dict[str, Any]:
        if churn_days is None:
            return insights_settings.get_settings(engine=engine, brand_id=program.brand_id)
        return insights_settings.set_settings(
            engine=engine, brand_id=program.brand_id, churn_days=churn_days
        )

    out, as_json = _run(ctx, brand, json_out, apply)
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(f"{out['brand_id']}: churn = no purchase for {out['churn_days']} days")


def _run(
    ctx: typer.Context,
    brand: str,
    json_out: bool,
    fn: Callable[[Engine, Program], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Run `fn` on the brand's program and the database; a domain error exits 2 or 1."""
    from loyalty_ledger.chain.deploy import Deployment
    from loyalty_ledger.store import make_engine, migrate

    settings = _settings(ctx)
    as_json = json_out or bool(getattr(ctx.find_root().obj, "json", False))
    try:
        program = Deployment.load(settings.deployment_file).program(brand)
        assert settings.database_url is not None
        engine = make_engine(settings.database_url)
        try:
            migrate(engine)
            return fn(engine, program), as_json
        finally:
            engine.dispose()
    except LedgerError as err:
        if as_json:
            typer.echo(json.dumps({"error": err.code, "detail": err.message}), err=True)
        else:
            typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(2 if isinstance(err, LedgerValueError) else 1) from None
