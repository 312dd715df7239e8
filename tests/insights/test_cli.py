"""`loyalty insights report` on the fixture (the sub-app, as the lead mounts it)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from loyalty_ledger.cli.insights import insights_app

from .fixture_data import DEPLOYMENT, C


def _env(seeded: tuple[str, Engine], tmp_path: Path) -> dict[str, str]:
    dep = tmp_path / "deployment.json"
    DEPLOYMENT.save(dep)
    return {"LOYALTY_DATABASE_URL": seeded[0], "LOYALTY_DEPLOYMENT_FILE": str(dep)}


def test_report_json(seeded: tuple[str, Engine], tmp_path: Path) -> None:
    args = ["report", "--brand", "acme", "--from", "2026-01-01", "--to", "2026-04-01", "--json"]
    r = CliRunner().invoke(insights_app, args, env=_env(seeded, tmp_path))
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["clv"]["clv_mean"] == 400_000 and rep["churn"]["churned"] == 1
    assert rep["top_customers"]["by_spend"][0]["member"] == C
    assert rep["points"]["outstanding_liability"] == 130


def test_report_tables_and_errors(seeded: tuple[str, Engine], tmp_path: Path) -> None:
    env = _env(seeded, tmp_path)
    r = CliRunner().invoke(
        insights_app,
        ["report", "--brand", "acme", "--from", "2026-01-01", "--to", "2026-04-01"],
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert "1,200,000" in r.output and "2026-03" in r.output and "33.3%" in r.output
    bad = CliRunner().invoke(insights_app, ["report", "--brand", "nope"], env=env)
    assert bad.exit_code == 2 and "nope" in bad.output  # invalid input: the known brands listed
    assert "known brands: acme, beta" in bad.output
    bad = CliRunner().invoke(insights_app, ["report", "--brand", "acme", "--from", "x"], env=env)
    assert bad.exit_code == 2
