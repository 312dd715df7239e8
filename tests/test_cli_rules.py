"""`loyalty rule|campaign|tier` through typer's CliRunner: --json output, versions, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.chain

SECOND = {
    "trigger": "purchase",
    "conditions": {"nth_order": 2},
    "effect": {"type": "fixed", "points": 50},
}


def test_rule_campaign_and_tier_commands(cli: Any, tmp_path: Path) -> None:
    r = cli("--json", "rule", "set", "acme", "second-order", "--spec", json.dumps(SECOND))
    assert json.loads(r.stdout)["version"] == 1
    rules = json.loads(cli("rule", "list", "acme", "--json").stdout)
    assert {x["rule_id"] for x in rules} >= {"base-rate", "bonus-signup", "second-order"}
    bad = cli("--json", "rule", "set", "acme", "x", "--spec", '{"trigger": "sale"}', ok=False)
    assert bad.exit_code == 2 and json.loads(bad.stderr)["error"] == "invalid_input"
    off = json.loads(cli("--json", "rule", "disable", "acme", "second-order").stdout)
    assert (off["version"], off["active"]) == (2, False)
    versions = json.loads(
        cli("--json", "rule", "list", "acme", "--versions", "second-order").stdout
    )
    assert [v["version"] for v in versions] == [1, 2]
    r = cli(
        "--json",
        "campaign",
        "set",
        "acme",
        "launch",
        "--start",
        "2026-12-01",
        "--end",
        "2026-12-08",
        "--budget",
        "1000",
        "--name",
        "Launch week",
    )
    assert json.loads(r.stdout)["remaining"] == 1000
    (tmp_path / "launch.json").write_text(
        json.dumps({**SECOND, "rule_id": "launch", "campaign_id": "launch", "conditions": {}})
    )
    assert (
        cli("rule", "set", "acme", "launch", "--file", str(tmp_path / "launch.json")).exit_code == 0
    )
    listed = json.loads(cli("--json", "campaign", "list", "acme").stdout)
    assert listed[0]["rules"] == ["launch"]
    sim = json.loads(
        cli(
            "--json", "rule", "simulate", "acme", "--from", "2026-01-01", "--to", "2026-02-01"
        ).stdout
    )
    assert (sim["orders"], sim["points"]) == (0, 0)
    assert (
        "points: 0"
        in cli("rule", "simulate", "acme", "--from", "2026-01-01", "--to", "2026-02-01").stdout
    )
    t = cli(
        "--json",
        "tier",
        "rule",
        "acme",
        "--metric",
        "points",
        "--threshold",
        "1:100",
        "--threshold",
        "2:500",
    )
    assert json.loads(t.stdout)["thresholds"] == [{"tier": 1, "min": 100}, {"tier": 2, "min": 500}]
    wrong = cli(
        "--json", "tier", "rule", "acme", "--metric", "points", "--threshold", "7:1", ok=False
    )
    assert wrong.exit_code == 2 and "tiers 0 to 2" in json.loads(wrong.stderr)["detail"]
    assert json.loads(cli("--json", "tier", "rule", "acme").stdout)["window_days"] == 365
    ev = json.loads(cli("--json", "tier", "evaluate", "acme", "--wait", "0").stdout)
    assert ev["evaluated"] == 0 and ev["intents"] == []  # no passes in the mirror yet
    moves = json.loads(
        cli(
            "--json", "tier", "migration", "acme", "--from", "2026-01-01", "--to", "2027-01-01"
        ).stdout
    )
    assert moves == {"up": 0, "down": 0, "stayed": 0}
    day = json.loads(cli("--json", "rule", "run-daily", "acme", "--wait", "0").stdout)
    assert day["birthday"]["rule"] is False and day["tiers"]["evaluated"] == 0
    missing = cli("--json", "rule", "explain", "acme", "12345", ok=False)
    assert missing.exit_code == 1 and json.loads(missing.stderr)["error"] == "unknown_rule"
