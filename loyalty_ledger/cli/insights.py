"""`loyalty insights report`: every metric of a brand for a period, as tables or JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from loyalty_ledger.config import Settings, get_settings
from loyalty_ledger.errors import LedgerError, LedgerValueError

if TYPE_CHECKING:
    pass

NA = "-"  # shown for a figure without data (a ratio over zero)

insights_app = typer.Typer(no_args_is_help=True, help="Loyalty metrics of a brand.")


@insights_app.callback()
def _group() -> None:
    """Loyalty metrics of a brand: CLV, churn, retention, basket, frequency, NPS, points."""


def _settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    settings = getattr(obj, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def _money(v: Any) -> str:
    return NA if v is None else f"{int(v):,}"


def _pct(v: Any) -> str:
    return NA if v is None else f"{100 * v:.1f}%"


def _print(rep: dict[str, Any]) -> None:
    from rich.table import Table

    con = Console()
    clv, churn, basket, freq = rep["clv"], rep["churn"], rep["basket"], rep["frequency"]
    nps, pts = rep["nps"], rep["points"]
    p = rep["period"]
    diff = pts["books"]["difference"]
    con.print(f"[bold]{rep['brand_id']}[/bold]  {p['from'][:10]} → {p['to'][:10]} (exclusive)")
    head = Table(title=f"Headline ({clv.get('currency', '')}, minor units)", show_header=False)
    for label, value in (
        ("customers who bought", _money(clv["customers"])),
        ("orders", _money(clv["orders"])),
        ("revenue", _money(clv["revenue"])),
        ("average order value", _money(basket["average_order_value"])),
        (
            "items per order",
            NA if basket["items_per_order"] is None else f"{basket['items_per_order']:.2f}",
        ),
        (
            "CLV mean / median / p90",
            f"{_money(clv['clv_mean'])} / {_money(clv['clv_median'])} / {_money(clv['clv_p90'])}",
        ),
        (
            "purchase frequency",
            NA if freq["purchase_frequency"] is None else f"{freq['purchase_frequency']:.2f}",
        ),
        ("repeat-purchase rate", _pct(freq["repeat_purchase_rate"])),
        (
            "churn rate",
            f"{_pct(churn['churn_rate'])} ({churn['churned']} of {churn['active_at_start']})",
        ),
        ("NPS", NA if nps["nps"] is None else f"{nps['nps']:.1f} ({nps['answers']} answers)"),
        (
            "points issued / redeemed / forfeited",
            f"{_money(pts['issued'])} / {_money(pts['redeemed'])} / {_money(pts['forfeited'])}",
        ),
        ("points outstanding", _money(pts["outstanding_liability"])),
        ("redemption rate", _pct(pts["redemption_rate"])),
        (
            "points expired / breakage rate",
            f"{_money(pts['expired'])} / {_pct(pts['breakage_rate'])}",
        ),
        (
            "points swapped in / out",
            f"{_money(pts['swapped_in'])} / {_money(pts['swapped_out'])}",
        ),
        ("books balance", "yes" if pts["books"]["balanced"] else f"off by {_money(diff)}"),
        (
            "gifts (count / points)",
            f"{_money(pts['gifts']['count'])} / {_money(pts['gifts']['points'])}",
        ),
    ):
        head.add_row(label, value)
    con.print(head)
    trend = Table(title="By month")
    cols = ("month", "orders", "revenue", "AOV", "items/order", "churn", "NPS")
    for col in (*cols, "pts issued", "swap in/out", "expired", "breakage"):
        trend.add_column(col, justify="right")
    flows = pts["flows"]["trend"]
    for b, c, n, f in zip(basket["trend"], churn["monthly"], nps["trend"], flows, strict=True):
        trend.add_row(
            b["month"],
            _money(b["orders"]),
            _money(b["revenue"]),
            _money(b["average_order_value"]),
            NA if b["items_per_order"] is None else f"{b['items_per_order']:.2f}",
            _pct(c["churn_rate"]),
            NA if n["nps"] is None else f"{n['nps']:.0f}",
            _money(f["issued"]),
            f"{_money(f['swapped_in'])} / {_money(f['swapped_out'])}",
            _money(f["expired"]),
            _pct(f["breakage_rate"]),
        )
    con.print(trend)
    coh = Table(title="Retention by monthly cohort")
    coh.add_column("cohort")
    coh.add_column("size", justify="right")
    width = max((len(r["retention"]) for r in rep["retention"]["cohorts"]), default=0)
    for k in range(width):
        coh.add_column(f"m+{k}", justify="right")
    for r in rep["retention"]["cohorts"]:
        coh.add_row(r["cohort"], str(r["size"]), *[_pct(v) for v in r["retention"]])
    con.print(coh)
    top = Table(title="Top customers by spend")
    for col in ("member", "spend", "orders"):
        top.add_column(col, justify="right")
    for r in rep["top_customers"]["by_spend"]:
        top.add_row(r["member"], _money(r["spend"]), str(r["orders"]))
    con.print(top)
    tiers = ", ".join(f"{t['name']} {t['active']}/{t['passes']}" for t in pts["tiers"])
    con.print(f"tiers (active/all passes): {tiers or NA}")


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
    """Every metric of a brand for a period (default: the last 12 months)."""
    from loyalty_ledger.chain.deploy import Deployment
    from loyalty_ledger.insights.period import make_period
    from loyalty_ledger.insights.report import full_report
    from loyalty_ledger.store import make_engine, migrate

    settings = _settings(ctx)
    as_json = json_out or bool(getattr(ctx.find_root().obj, "json", False))
    try:
        program = Deployment.load(settings.deployment_file).program(brand)
        period = make_period(start, end)
        assert settings.database_url is not None
        engine = make_engine(settings.database_url)
        try:
            migrate(engine)
            rep = full_report(engine=engine, program=program, period=period)
        finally:
            engine.dispose()
    except LedgerError as err:
        if as_json:
            typer.echo(json.dumps({"error": err.code, "detail": err.message}), err=True)
        else:
            typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(2 if isinstance(err, LedgerValueError) else 1) from None
    if as_json:
        typer.echo(json.dumps(rep))
    else:
        _print(rep)
