"""The `loyalty` command: run a local chain, deploy, onboard brands and members, move points."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli import api_app
from loyalty_ledger.cli.audit import audit_app
from loyalty_ledger.cli.context import Ctx, _run, job_announce, job_say
from loyalty_ledger.cli.demo import demo_app
from loyalty_ledger.cli.exchange import exchange_app
from loyalty_ledger.cli.index import index
from loyalty_ledger.cli.insights import insights_app
from loyalty_ledger.cli.keys import keys_app
from loyalty_ledger.cli.lots import points_app
from loyalty_ledger.cli.members import member_app
from loyalty_ledger.cli.network import brand_app, chain_app, deploy
from loyalty_ledger.cli.passes import pass_app
from loyalty_ledger.cli.rules import campaign_app, rule_app, tier_app
from loyalty_ledger.cli.submitter import submitter
from loyalty_ledger.config import get_settings

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, help=__doc__)
for sub, name in (
    (chain_app, "chain"),
    (brand_app, "brand"),
    (member_app, "member"),
    (points_app, "points"),
    (pass_app, "pass"),
    (keys_app, "keys"),
    (rule_app, "rule"),
    (campaign_app, "campaign"),
    (tier_app, "tier"),
):
    app.add_typer(sub, name=name)
app.command("deploy")(deploy)
app.command("index")(index)
app.command("submitter")(submitter)
app.add_typer(api_app, name="api")
app.add_typer(insights_app, name="insights")
app.add_typer(demo_app, name="demo")
app.add_typer(exchange_app, name="exchange")
app.add_typer(
    audit_app, name="audit", help="Replay the ledger from the chain alone and prove the books."
)


@app.callback()
def main(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    rpc_url: Annotated[str | None, typer.Option(help="JSON-RPC URL of the node.")] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment file.")] = None,
) -> None:
    """Loyalty Ledger: points and memberships on an EVM chain."""
    try:
        settings = get_settings(rpc_url=rpc_url, deployment_file=deployment)
    except ValueError as exc:  # pydantic's ValidationError
        typer.echo(f"error: bad settings: {exc}".splitlines()[0], err=True)
        raise typer.Exit(2) from None
    ctx.obj = Ctx(settings=settings, json=json_out)


@app.command("up")
def up_command(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Links as one JSON line.")] = False,
    members: Annotated[int, typer.Option(min=10, max=100_000, help="Demo customers.")] = 2000,
    months: Annotated[int, typer.Option(min=1, max=36, help="Demo months of history.")] = 6,
    seed: Annotated[int, typer.Option(help="Demo random seed.")] = 7,
) -> None:
    """The main job: local chain + demo network + indexer + API, until Ctrl-C.

    The chain is kept in the data dir and reloaded on the next run; the demo (of the given
    size) is seeded only on a new chain. With --json, progress goes to stderr and the links
    (dashboards with viewer keys, wallet, the demo customer to sign in as) are one JSON line on
    stdout."""
    from loyalty_ledger.service.up import DemoScale, up

    def run(c: Ctx) -> None:
        as_json = c.json or json_out  # `scripts/run.sh --json` puts it after `up`
        code = up(
            c.settings,
            scale=DemoScale(members=members, months=months, seed=seed),
            say=job_say(as_json),
            announce=job_announce(as_json),
        )
        if code:
            raise typer.Exit(code)

    _run(ctx, run)


__all__ = ["app"]
