"""A small demo, indexed by the main job, audits its own mirror with zero findings.

The demo's referral references are hex-looking text in mixed case (a member's checksummed
address cut to 32 characters): the mirror and the audit must agree on their one text form.
Runs on SQLite and on PostgreSQL (a throw-away database; skipped without a server).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from loyalty_ledger.audit.chain_replay import Network
from loyalty_ledger.audit.report import to_text
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.cli.audit import audit_app
from loyalty_ledger.config import get_settings
from loyalty_ledger.service.up import DemoScale, up
from loyalty_ledger.store import metadata

from .mirrors import PARAMS, _pg_database, exec_, rows

pytestmark = pytest.mark.chain
LE = metadata.tables["ledger_entry"]
MIXED_HEX = re.compile(r"^0x[0-9a-fA-F]+$")


@pytest.fixture(params=PARAMS)
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Network, str, Any]]:
    """A 40-member, 2-month demo on a fresh anvil, indexed into SQLite or PostgreSQL."""
    gen = iter([f"sqlite:///{tmp_path / 'ledger.db'}"]) if request.param == "sqlite" else None
    if gen is None:
        gen = _pg_database()
    url = next(gen)
    with Anvil(port=0) as node:
        settings = get_settings(
            rpc_url=node.url,
            data_dir=tmp_path,
            deployment_file=tmp_path / "deployment.json",
            database_url=url,
        )
        assert up(settings, scale=DemoScale(members=40, months=2), serve_api=False, say=str) == 0
        yield Network.from_deployment(node.url, str(settings.deployment_file)), url, settings
    for _ in gen:  # drops the PostgreSQL database
        pass


def _hex_looking_refs(url: str) -> list[dict[str, Any]]:
    found = rows(url, select(LE).where(LE.c.ref.like("0x%")))
    return [r for r in found if MIXED_HEX.match(r["ref"]) and r["ref"] != r["ref"].lower()]


def test_demo_mirror_audits_with_zero_findings(demo: tuple[Network, str, Any]) -> None:
    net, url, settings = demo
    mixed = _hex_looking_refs(url)
    assert mixed, "the demo no longer writes hex-looking mixed-case refs: this test is moot"
    assert all(len(r["ref"]) < 66 for r in mixed)  # text, not a bytes32 in hex
    rep = run_audit(net, database=url, check_code=False, bisect_database=url)
    assert rep.findings == [], to_text(rep)
    assert rep.ok and rep.checks["mirror"]["ledger_rows"] > 50
    args = ["--rpc-url", net.rpc_url, "--deployment", str(settings.deployment_file)]
    res = CliRunner().invoke(audit_app, [*args, "--database", url, "--no-code"])
    assert res.exit_code == 0, res.output

    # Compared exactly: the same reference with its case changed is a different reference.
    row = mixed[0]
    exec_(url, update(LE).where(LE.c.id == row["id"]).values(ref=row["ref"].lower()))
    rep = run_audit(net, database=url, check_code=False, check_chain=False)
    (f,) = rep.errors
    key = f"ledger_entry:{row['block_number']}/{row['log_index']}"
    assert (f.code, f.key) == ("row-different", key)
    assert (f.expected, f.actual) == ({"ref": row["ref"]}, {"ref": row["ref"].lower()})
