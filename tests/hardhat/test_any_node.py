"""The chain smoke (deploy, brand, members, issue, transfer, gasless gift, batch issue through
the outbox, index, audit) through the `loyalty` command against two node implementations:
anvil and Hardhat's node, so that nothing outside the tests leans on anvil's quirks.

The Hardhat variant skips, with a message, when `node_modules/.bin/hardhat` is missing
(`npm ci` installs it from package.json's devDependencies)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.config import ANVIL_DEV_KEYS

from .node import BINARY, HardhatNode

ADMIN, ALICE, BOB = (Account.from_key(k) for k in ANVIL_DEV_KEYS[1:4])
ADMIN_KEY, ALICE_KEY = ANVIL_DEV_KEYS[1], ANVIL_DEV_KEYS[2]


@pytest.fixture(autouse=True)
def _chain_isolation() -> Iterator[None]:
    yield  # this directory's nodes are fresh per test


@pytest.fixture(params=["anvil", "hardhat"])
def node_url(request: pytest.FixtureRequest) -> Iterator[str]:
    node: AbstractContextManager[Any]
    if request.param == "hardhat":
        if not BINARY.exists():
            pytest.skip(f"Hardhat variant skipped: {BINARY} missing (run `npm ci`)")
        node = HardhatNode()
    else:
        node = Anvil(port=0)
    with node as n:
        yield n.url


def test_smoke_on_any_node(node_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from loyalty_ledger.cli.app import app

    monkeypatch.chdir(tmp_path)
    env = {
        "LOYALTY_RPC_URL": node_url,
        "LOYALTY_DEPLOYMENT_FILE": str(tmp_path / "deployment.json"),
        "LOYALTY_BRAND_KEY_ACME": ADMIN_KEY,
    }

    def cli(*args: str, code: int = 0) -> Any:
        r = CliRunner().invoke(app, list(args), env=env)
        assert r.exit_code == code, (args, r.output, r.stderr, r.exception)
        return r

    cli("deploy")
    cli(
        "brand",
        "add",
        "acme",
        "--name",
        "Acme",
        "--symbol",
        "ACM",
        "--admin",
        ADMIN.address,
        "--tier",
        "Basic",
    )
    cli("member", "register", ALICE.address)
    cli("member", "register", BOB.address)
    cli("points", "issue", "acme", ALICE.address, "100", "--ref", "smoke-1")
    cli("points", "transfer", "acme", BOB.address, "30", "--key", ALICE_KEY, "--direct")
    cli("points", "gift", "acme", BOB.address, "5", "--memo", "hi", "--key", ALICE_KEY)
    rows = tmp_path / "rows.csv"
    rows.write_text(f"{ALICE.address},7,smoke-2\n{BOB.address},3,smoke-3\n")
    cli("points", "issue-batch", "acme", str(rows))
    cli("points", "issue-batch", "acme", str(rows), code=2)  # each ref once
    balance = json.loads(cli("--json", "points", "balance", "acme", BOB.address).stdout)
    assert balance["balance"] == 38
    cli("index")
    report = cli("audit", "--database", f"sqlite:///{tmp_path / '.data' / 'ledger.db'}", "--json")
    data = json.loads(report.stdout)
    assert data["ok"], data
