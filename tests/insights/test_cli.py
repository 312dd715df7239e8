"""`loyalty insights report` on the fixture (the sub-app, as the lead mounts it)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine
from typer.testing import CliRunner

from loyalty_ledger.cli.insights import insights_app
from loyalty_ledger.insights import full_report, make_period
from loyalty_ledger.insights.render import print_report

from .fixture_data import DEPLOYMENT, GAMMA, A, C, E


def _env(seeded: tuple[str, Engine], tmp_path: Path) -> dict[str, str]:
    dep = tmp_path / "deployment.json"
    DEPLOYMENT.save(dep)
    return {"LOYALTY_DATABASE_URL": seeded[0], "LOYALTY_DEPLOYMENT_FILE": str(dep)}


def test_report_json(seeded: tuple[str, Engine], tmp_path: Path) -> None:
    args = ["report", "--brand", "acme", "--from", "2026-01-01", "--to", "2026-04-01", "--json"]
    r = CliRunner().invoke(insights_app, args, env=_env(seeded, tmp_path))
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["clv"]["in_period"]["clv_mean"] == 400_000
    assert rep["churn"]["activity"]["churned"] == 1
    assert rep["top_customers"]["by_spend"][0]["member"] == C
    assert rep["points"]["outstanding_liability"] == 130


def test_report_tables_and_errors(seeded: tuple[str, Engine], tmp_path: Path) -> None:
    env = _env(seeded, tmp_path) | {"COLUMNS": "80"}
    r = CliRunner().invoke(
        insights_app,
        ["report", "--brand", "acme", "--from", "2026-01-01", "--to", "2026-04-01"],
        env=env,
    )
    assert r.exit_code == 0, r.output
    out = r.output
    # readable in 80 columns: no line wider, no figure cut or wrapped
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert "…" not in out
    assert "1,200,000" in out and "2026-03" in out and "complete" in out
    # every rate with its numerator and denominator, NPS with its sample size
    assert "churn: no purchase 90d" in out and "66.7% (2 of 3)" in out
    assert "33.3% (1 of 3)" in out  # the activity-based churn, kept
    assert "0.0 (5 answers)" in out
    assert "5.6% (10 of 180 credited)" in out  # breakage: acme's forfeits, no expiry
    assert "mean 284,000" in out  # lifetime value to date
    for address in (A, C, E):  # whole addresses, not cut
        assert address in out
    bad = CliRunner().invoke(insights_app, ["report", "--brand", "nope"], env=env)
    assert bad.exit_code == 2 and "nope" in bad.output  # invalid input: the known brands listed
    assert "known brands: acme, beta, gamma, young" in bad.output
    bad = CliRunner().invoke(insights_app, ["report", "--brand", "acme", "--from", "x"], env=env)
    assert bad.exit_code == 2


def test_report_default_period_marks_the_partial_month(
    seeded: tuple[str, Engine], tmp_path: Path
) -> None:
    env = _env(seeded, tmp_path) | {"COLUMNS": "80"}
    r = CliRunner().invoke(insights_app, ["report", "--brand", "gamma"], env=env)
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.output.splitlines()) <= 80, r.output
    assert "to date, as of" in r.output and "* partial month:" in r.output
    rep = json.loads(
        CliRunner().invoke(insights_app, ["report", "--brand", "gamma", "--json"], env=env).output
    )
    period = rep["period"]
    assert period["partial"] and len(rep["basket"]["trend"]) == 4  # 3 full months + this one
    assert [t["partial"] for t in rep["basket"]["trend"]] == [False, False, False, True]
    assert period["partial_months"][0] + "*" in r.output


def test_settings_command(seeded: tuple[str, Engine], tmp_path: Path) -> None:
    env = _env(seeded, tmp_path)
    run = lambda *a: CliRunner().invoke(insights_app, ["settings", "--brand", "gamma", *a], env=env)  # noqa: E731
    shown = run()
    assert shown.exit_code == 0 and "no purchase for 90 days" in shown.output, shown.output
    try:
        out = run("--churn-days", "60", "--json")
        assert out.exit_code == 0 and json.loads(out.output)["churn_days"] == 60, out.output
        assert json.loads(run("--json").output) == {"brand_id": "gamma", "churn_days": 60}
        bad = run("--churn-days", "0")
        assert bad.exit_code == 2 and "churn_days" in bad.output
    finally:
        run("--churn-days", "90")


def _inflate(value: Any) -> Any:
    """Every count and amount 10,000 times larger (not days, times or booleans)."""
    if isinstance(value, dict):
        keep = {"days", "horizon_days", "start", "end", "tier"}
        return {k: v if k in keep else _inflate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_inflate(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 10_000
    return value


def test_report_fits_80_columns_with_big_figures(seeded: tuple[str, Engine]) -> None:
    """A large brand's figures (gamma's times 10,000: a month's revenue in billions) fit in 80
    columns, none cut."""
    period = make_period("2026-01-01", "2026-07-01")
    rep = _inflate(full_report(engine=seeded[1], program=GAMMA, period=period))
    con = Console(width=80, record=True, file=io.StringIO())
    print_report(rep, con)
    out = con.export_text()
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert "…" not in out, out
    assert "1,120,000,000" in out  # gamma's lifetime mean, inflated
    assert "50.0% (20,000 of 40,000)" in out
