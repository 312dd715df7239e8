"""`loyalty rule|campaign|tier ...`: a brand's earning rules (versioned), campaigns, simulate,
explanations, the tier rule, the tier job and the daily run — the same functions the API calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loyalty_ledger.cli.context import _ctx, fail
from loyalty_ledger.errors import InvalidInput, LedgerError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from loyalty_ledger.chain.deploy import Program
    from loyalty_ledger.cli.context import Ctx

rule_app = typer.Typer(no_args_is_help=True, help="A brand's earn rules (every edit a version).")
campaign_app = typer.Typer(no_args_is_help=True, help="Campaigns: windows and budgets of rules.")
tier_app = typer.Typer(no_args_is_help=True, help="Tier rules and the tier job.")
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Brand = Annotated[str, typer.Argument(help="Brand id.")]


def _go(ctx: typer.Context, json_out: bool, fn: Callable[[Engine, Program, Ctx], Any]) -> None:
    """Run `fn` on the database and the brand's program; print JSON or readable lines."""
    from loyalty_ledger.store import make_engine, migrate

    c = _ctx(ctx)
    as_json = json_out or c.json
    try:
        assert c.settings.database_url is not None
        engine = make_engine(c.settings.database_url)
        try:
            migrate(engine)
            out = fn(engine, c.program(ctx.params["brand"]), c)
        finally:
            engine.dispose()
    except LedgerError as err:
        fail(err, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(out))
    elif isinstance(out, list):
        for row in out:
            typer.echo(json.dumps(row, sort_keys=True))
    else:
        for k, v in out.items():
            typer.echo(f"{k}: {json.dumps(v) if isinstance(v, dict | list) else v}")


def _day(text: str) -> int:
    try:
        d = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r}: a date YYYY-MM-DD or an ISO time") from None
    return int((d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp())


def _spec(spec: str | None, file: Path | None) -> Any:
    if (spec is None) == (file is None):
        raise InvalidInput("give the rule as --spec JSON or --file PATH (one of them)")
    try:
        return json.loads(spec if spec is not None else file.read_text())  # type: ignore[union-attr]
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"the rule is not readable JSON: {exc}") from None


@rule_app.command("list")
def rule_list(
    ctx: typer.Context,
    brand: Brand,
    versions: Annotated[str | None, typer.Option(help="Every version of this rule id.")] = None,
    json_out: Json = False,
) -> None:
    """The current version of every rule (or every version of one)."""
    from loyalty_ledger.programme import earn
    from loyalty_ledger.programme.rules import store

    def fn(engine: Engine, program: Program, _c: Ctx) -> Any:
        earn.ensure_defaults(engine=engine, brand_id=brand)
        return store.list_rules(engine=engine, brand_id=brand, versions_of=versions)

    _go(ctx, json_out, fn)


@rule_app.command("set")
def rule_set(
    ctx: typer.Context,
    brand: Brand,
    rule_id: Annotated[str, typer.Argument(help="Rule id (new, or the one to edit).")],
    spec: Annotated[str | None, typer.Option(help="The rule as JSON.")] = None,
    file: Annotated[Path | None, typer.Option(help="A JSON file with the rule.")] = None,
    json_out: Json = False,
) -> None:
    """Create or edit a rule (a new version), e.g. --spec '{"trigger": "purchase",
    "conditions": {"nth_order": 2}, "effect": {"type": "fixed", "points": 50}}'."""
    from loyalty_ledger.programme import earn
    from loyalty_ledger.programme.rules import store
    from loyalty_ledger.programme.rules.perk_grant import check_perk_effect

    def fn(engine: Engine, program: Program, _c: Ctx) -> Any:
        body = _spec(spec, file)
        if not isinstance(body, dict):
            raise InvalidInput("a rule is a JSON object")
        named = body.pop("rule_id", rule_id)  # a draft file may carry its id
        if named != rule_id:
            raise InvalidInput(f"the file is rule {named!r}, not {rule_id!r}")
        earn.ensure_defaults(engine=engine, brand_id=brand)
        check_perk_effect(engine, brand, body)
        return store.put_rule(engine=engine, brand_id=brand, rule_id=rule_id, spec=body)

    _go(ctx, json_out, fn)


def _switch(ctx: typer.Context, brand: str, rule_id: str, on: bool, json_out: bool) -> None:
    from loyalty_ledger.programme.rules import store

    _go(
        ctx,
        json_out,
        lambda e, p, c: store.set_active(engine=e, brand_id=brand, rule_id=rule_id, active=on),
    )


@rule_app.command("enable")
def rule_enable(ctx: typer.Context, brand: Brand, rule_id: str, json_out: Json = False) -> None:
    """Switch a rule on (a new version)."""
    _switch(ctx, brand, rule_id, True, json_out)


@rule_app.command("disable")
def rule_disable(ctx: typer.Context, brand: Brand, rule_id: str, json_out: Json = False) -> None:
    """Switch a rule off (a new version; past earnings keep theirs)."""
    _switch(ctx, brand, rule_id, False, json_out)


@rule_app.command("simulate")
def rule_simulate(
    ctx: typer.Context,
    brand: Brand,
    start: Annotated[str, typer.Option("--from", help="Start date YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--to", help="End date, exclusive.")],
    draft: Annotated[
        list[Path] | None, typer.Option(help="A JSON file with a draft rule (with rule_id).")
    ] = None,
    only_drafts: Annotated[bool, typer.Option(help="Evaluate the drafts alone.")] = False,
    json_out: Json = False,
) -> None:
    """What the rules (and drafts) would have paid for the period's orders."""
    from loyalty_ledger.programme import earn
    from loyalty_ledger.programme.rules.simulate import simulate

    def fn(engine: Engine, program: Program, _c: Ctx) -> Any:
        drafts = [_spec(None, f) for f in draft or []]
        return simulate(
            engine=engine,
            brand_id=brand,
            pass_contract=program.pass_,
            base_rate=earn.get_rule(engine=engine, brand_id=brand).amount_per_point,
            start=_day(start),
            end=_day(end),
            drafts=drafts,
            only_drafts=only_drafts,
        )

    _go(ctx, json_out, fn)


@rule_app.command("explain")
def rule_explain(ctx: typer.Context, brand: Brand, earn_id: int, json_out: Json = False) -> None:
    """Why an earning paid what it did (each rule version and its points)."""
    from loyalty_ledger.programme.rules.explain import explain_earning

    _go(ctx, json_out, lambda e, p, c: explain_earning(engine=e, brand_id=brand, earn_id=earn_id))


@campaign_app.command("set")
def campaign_set(
    ctx: typer.Context,
    brand: Brand,
    campaign_id: str,
    start: Annotated[str, typer.Option("--start", help="Start (YYYY-MM-DD or ISO time).")],
    end: Annotated[str, typer.Option("--end", help="End, exclusive.")],
    budget: Annotated[int | None, typer.Option(help="Points it may pay in all.")] = None,
    name: Annotated[str, typer.Option(help="A name to show.")] = "",
    json_out: Json = False,
) -> None:
    """Create or change a campaign (rules join it with "campaign_id")."""
    from loyalty_ledger.programme.rules import campaigns

    def fn(engine: Engine, program: Program, _c: Ctx) -> Any:
        return campaigns.put_campaign(
            engine=engine,
            brand_id=brand,
            campaign_id=campaign_id,
            starts_at=_day(start),
            ends_at=_day(end),
            budget=budget,
            name=name,
        )

    _go(ctx, json_out, fn)


@campaign_app.command("list")
def campaign_list(ctx: typer.Context, brand: Brand, json_out: Json = False) -> None:
    """Every campaign with its cost and reach."""
    from loyalty_ledger.programme.rules import campaigns

    _go(ctx, json_out, lambda e, p, c: campaigns.list_campaigns(engine=e, brand_id=brand))


@tier_app.command("rule")
def tier_rule(
    ctx: typer.Context,
    brand: Brand,
    metric: Annotated[str | None, typer.Option(help="points (earned) or amount (spent).")] = None,
    window_days: Annotated[int, typer.Option(help="The rolling window.")] = 365,
    grace_days: Annotated[int, typer.Option(help="Days before a downgrade.")] = 30,
    threshold: Annotated[
        list[str] | None, typer.Option(help="TIER:MIN, e.g. 1:1000 (repeat).")
    ] = None,
    json_out: Json = False,
) -> None:
    """Show the tier rule, or set it (with --metric and --threshold)."""
    from loyalty_ledger.ledger import passes
    from loyalty_ledger.programme.rules import tiers

    def fn(engine: Engine, program: Program, c: Ctx) -> Any:
        if metric is None:
            policy = tiers.get_tier_rule(engine=engine, brand_id=brand)
            return {} if policy is None else tiers.policy_json(policy)
        try:
            pairs = [tuple(int(x) for x in t.split(":")) for t in threshold or []]
            th = [{"tier": t, "min": m} for t, m in pairs]
        except ValueError:
            raise InvalidInput("--threshold is TIER:MIN, e.g. 1:1000") from None
        return tiers.put_tier_rule(
            engine=engine,
            brand_id=brand,
            metric=metric,
            window_days=window_days,
            grace_days=grace_days,
            thresholds=th,
            tier_count=len(passes.tiers(w3=c.w3, program=program)),
        )

    _go(ctx, json_out, fn)


@tier_app.command("evaluate")
def tier_evaluate(
    ctx: typer.Context,
    brand: Brand,
    evaluation: Annotated[str | None, typer.Option(help="Run name (default: today).")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to send the changes (0: queue only).")] = 120,
    json_out: Json = False,
) -> None:
    """Evaluate every pass holder and move their passes through the outbox; a re-run (also
    after a kill) changes nothing twice."""
    from loyalty_ledger.programme.rules.tier_job import evaluate_tiers

    from .tier_send import send_queued

    def fn(engine: Engine, program: Program, c: Ctx) -> Any:
        sender = c.sender(f"brand:{brand}", None)
        out = evaluate_tiers(engine=engine, sender=sender, program=program, evaluation=evaluation)
        if wait > 0 and out["intents"]:
            out["settled"] = send_queued(engine, sender, c.settings, wait)
        return out

    _go(ctx, json_out, fn)


@rule_app.command("run-daily")
def rule_run_daily(
    ctx: typer.Context,
    brand: Brand,
    wait: Annotated[float, typer.Option(help="Seconds to send the writes (0: queue only).")] = 120,
    json_out: Json = False,
) -> None:
    """The brand's daily rules run (the main job does it every day): birthday bonuses for the
    members born this month (the `action:birthday` rules, once a year each), then the tier
    evaluation. A re-run, also after a kill, grants and moves nothing twice."""
    from loyalty_ledger.programme.rules.daily import run_daily

    from .tier_send import send_queued

    def fn(engine: Engine, program: Program, c: Ctx) -> Any:
        sender = c.sender(f"brand:{brand}", None)
        out = run_daily(engine=engine, sender=sender, program=program)
        queued = out["birthday"]["intents"] + (out["tiers"] or {}).get("intents", [])
        if wait > 0 and queued:
            out["settled"] = send_queued(engine, sender, c.settings, wait)
        return out

    _go(ctx, json_out, fn)


@tier_app.command("migration")
def tier_migration(
    ctx: typer.Context,
    brand: Brand,
    start: Annotated[str, typer.Option("--from", help="Start date YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--to", help="End date, exclusive.")],
    json_out: Json = False,
) -> None:
    """Members whose tier went up, down or stayed in the period."""
    from loyalty_ledger.programme.rules.tier_job import tier_migration as moves

    _go(
        ctx,
        json_out,
        lambda e, p, c: moves(engine=e, brand_id=brand, start=_day(start), end=_day(end)),
    )
