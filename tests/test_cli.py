"""The `loyalty` command through typer's CliRunner: human and --json output, error exits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain.anvil import Anvil, free_port, rpc_chain_id
from loyalty_ledger.chain.deploy import Deployment

from .conftest import ACME_ADMIN, ALICE, ALICE_START, BOB, CAROL

pytestmark = pytest.mark.chain

ACME_KEY = "0x" + bytes(ACME_ADMIN.key).hex()
ALICE_KEY = "0x" + bytes(ALICE.key).hex()
_i = next(i for i, ch in enumerate(BOB.address) if i > 1 and ch.isalpha())
BAD_CHECKSUM = BOB.address[:_i] + BOB.address[_i].swapcase() + BOB.address[_i + 1 :]


def test_points_issue_human_and_json(cli: Any, w3: Web3, acme: Any) -> None:
    r = cli("points", "issue", "acme", BOB.address, "25", "--ref", "order-1", "--key", ACME_KEY)
    assert "issued 25 points" in r.stdout and BOB.address in r.stdout
    r = cli("--json", "points", "issue", "acme", BOB.address, "5", "--key", ACME_KEY)
    data = json.loads(r.stdout)
    assert data["amount"] == 5 and data["tx_hash"].startswith("0x")
    r = cli("--json", "points", "balance", "acme", BOB.address)
    assert json.loads(r.stdout)["balance"] == 30
    assert "30" in cli("points", "balance", "acme", BOB.address).stdout


def test_member_commands(cli: Any, w3: Web3, network: Deployment) -> None:
    cli("member", "register", CAROL.address)
    cli("member", "freeze", CAROL.address)
    data = json.loads(cli("--json", "member", "status", CAROL.address).stdout)
    assert data["is_member"] and data["frozen"]
    cli("member", "unfreeze", CAROL.address)
    assert "member" in cli("member", "status", CAROL.address).stdout
    cli("member", "recover", ALICE.address, CAROL.address)
    assert (
        ledger.balance_of(w3=w3, program=network.program("acme"), member=CAROL.address)
        == ALICE_START
    )


def test_customer_commands_are_gasless(cli: Any, w3: Web3, acme: Any) -> None:
    before = w3.eth.get_balance(ALICE.address)
    cli("points", "gift", "acme", BOB.address, "7", "--memo", "hi", "--key", ALICE_KEY)
    cli("points", "transfer", "acme", BOB.address, "3", "--key", ALICE_KEY)
    cli("points", "redeem", "acme", "10", "--ref", "mug", "--key", ALICE_KEY)
    assert w3.eth.get_balance(ALICE.address) == before  # the relayer paid
    cli("points", "transfer", "acme", BOB.address, "1", "--key", ALICE_KEY, "--direct")
    assert ledger.balance_of(w3=w3, program=acme, member=ALICE.address) == ALICE_START - 21
    assert ledger.balance_of(w3=w3, program=acme, member=BOB.address) == 11


def test_issue_batch_csv_issues_each_ref_once(
    cli: Any, w3: Web3, acme: Any, tmp_path: Path, unchanged: Any
) -> None:
    csv_file = tmp_path / "batch.csv"
    csv_file.write_text(
        f"address,amount,ref\n{BOB.address},10,o-1\n{ALICE.address},5\n{BOB.address},1,o-2\n"
    )
    args = ("points", "issue-batch", "acme", str(csv_file), "--key", ACME_KEY)
    r = cli("--json", *args, "--chunk-size", "2")
    data = json.loads(r.stdout)
    assert data["rows"] == 3 and data["total"] == 16 and len(data["transactions"]) == 2
    assert data["issued"] == 3 and data["failed"] == [] and data["unsettled"] == 0
    assert "3 mined" in r.stderr  # progress
    assert ledger.balance_of(w3=w3, program=acme, member=BOB.address) == 11
    # The same file again: refused, the refs named, nothing sent (it used to issue twice).
    with unchanged():
        r = cli(*args, ok=False)
    assert r.exit_code == 2 and "o-1" in r.stderr and "o-2" in r.stderr and "(row 2)" in r.stderr
    assert ledger.balance_of(w3=w3, program=acme, member=BOB.address) == 11
    # A new file reusing one ref: refused as a whole, naming only that ref.
    other = tmp_path / "other.csv"
    other.write_text(f"{ALICE.address},3,o-2\n{ALICE.address},4,o-3\n")
    with unchanged():
        r = cli("--json", "points", "issue-batch", "acme", str(other), "--key", ACME_KEY, ok=False)
    err = json.loads(r.stderr)
    assert (
        err["error"] == "already_issued" and "o-2" in err["detail"] and "o-3" not in err["detail"]
    )


def test_issue_batch_refuses_refs_in_the_mirror(
    cli: Any, w3: Web3, acme: Any, tmp_path: Path, unchanged: Any
) -> None:
    """A ref issued outside the outbox (here `points issue`) is found in the indexed mirror."""
    cli("points", "issue", "acme", BOB.address, "2", "--ref", "till-7", "--key", ACME_KEY)
    cli("index")
    csv_file = tmp_path / "b.csv"
    csv_file.write_text(f"{BOB.address},2,till-7\n{ALICE.address},1,till-8\n")
    with unchanged():
        r = cli("points", "issue-batch", "acme", str(csv_file), "--key", ACME_KEY, ok=False)
    assert r.exit_code == 2 and "till-7" in r.stderr and "till-8" not in r.stderr


def test_issue_batch_dry_run_sends_nothing(
    cli: Any, acme: Any, tmp_path: Path, unchanged: Any
) -> None:
    csv_file = tmp_path / "d.csv"
    csv_file.write_text(
        f"{BOB.address},10,d-1\n{ALICE.address},5,d-2\n{BOB.address},1,d-1\n{CAROL.address},2,d-3\n"
    )
    with unchanged():
        r = cli("--json", "points", "issue-batch", "acme", str(csv_file), "--dry-run")
        human = cli("points", "issue-batch", "acme", str(csv_file), "--dry-run")
    data = json.loads(r.stdout)
    assert data["dry_run"] and data["rows"] == 4 and data["total"] == 18
    assert data["members"] == 3 and data["refs"] == 4 and data["to_issue"] == 4
    assert data["problems"] == [
        "ref d-1 appears more than once",
        f"member {CAROL.address} is not registered",
    ]
    assert "18 points" in human.stdout and "problem: ref d-1" in human.stdout
    from sqlalchemy import inspect

    from loyalty_ledger.store import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / '.data' / 'ledger.db'}")
    try:
        assert "outbox_intent" not in inspect(eng).get_table_names()  # nothing queued
    finally:
        eng.dispose()


def test_issue_batch_bad_csv(cli: Any, tmp_path: Path, unchanged) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(f"{BOB.address},10\n{ALICE.address},2.5\n")
    with unchanged():
        r = cli("points", "issue-batch", "acme", str(csv_file), "--key", ACME_KEY, ok=False)
    assert r.exit_code == 2 and "bad.csv:2" in r.stderr and "Traceback" not in r.output


def test_pass_commands(cli: Any) -> None:
    r = cli("--json", "pass", "issue", "acme", ALICE.address, "--tier", "Silver", "--key", ACME_KEY)
    token_id = json.loads(r.stdout)["token_id"]
    cli("pass", "upgrade", "acme", ALICE.address, "--tier", "Platinum", "--key", ACME_KEY)
    cli("pass", "renew", "acme", ALICE.address, "4102444800", "--key", ACME_KEY)
    data = json.loads(cli("--json", "pass", "show", "acme", ALICE.address).stdout)["pass"]
    assert data["token_id"] == token_id and data["tier_name"] == "Platinum"
    assert data["expires_at"] == 4102444800 and data["locked"]
    assert "Platinum" in cli("pass", "show", "acme", ALICE.address).stdout
    cli("pass", "revoke", "acme", ALICE.address, "--key", ACME_KEY)
    assert "holds no acme pass" in cli("pass", "show", "acme", ALICE.address).stdout


def test_brand_add_and_deploy(cli: Any, w3: Web3) -> None:
    cli(
        "brand",
        "add",
        "gamma",
        "--name",
        "Gamma",
        "--symbol",
        "GAM",
        "--admin",
        ACME_ADMIN.address,
        "--tier",
        "Bronze",
        "--tier",
        "Silver",
    )
    dep = Deployment.load(cli.dep_file)
    assert "gamma" in dep.programs and "acme" in dep.programs
    # The deployment file is live: deploy refuses to replace it without --force.
    r = cli("deploy", ok=False)
    assert r.exit_code == 1 and "--force" in r.stderr
    r = cli("--json", "deploy", "--force", "--demo")
    data = json.loads(r.stdout)
    assert set(data["programs"]) == {"demo"}
    assert Deployment.load(cli.dep_file).registry == data["registry"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["points", "issue", "acme", CAROL.address, "5", "--key", ACME_KEY],
            1,
            "not a registered member",
        ),
        (["points", "issue", "acme", BOB.address, "0", "--key", ACME_KEY], 2, "invalid amount"),
        # The contract accepts a transfer of 0 (EIP-20); a person typing 0 made a mistake.
        (["points", "transfer", "acme", BOB.address, "0", "--key", ALICE_KEY], 2, "invalid amount"),
        (
            ["points", "issue", "acme", BOB.address, "--key", ACME_KEY, "--", "-4"],
            2,
            "invalid amount",
        ),
        (["points", "issue", "acme", BOB.address, "1.5", "--key", ACME_KEY], 2, "whole number"),
        (["points", "issue", "acme", "0x1234", "5", "--key", ACME_KEY], 2, "invalid address"),
        (["points", "issue", "acme", BAD_CHECKSUM, "5"], 2, "checksum"),
        (["points", "issue", "nope", BOB.address, "5"], 2, "no program for brand"),
        (["points", "issue", "beta", BOB.address, "5", "--key", ACME_KEY], 1, "not allowed"),
        (["points", "redeem", "acme", "1000", "--key", ALICE_KEY], 1, "holds 100 points"),
        (["points", "gift", "acme", BOB.address, "1"], 1, "no signing key for customer"),
        (["pass", "show", "acme", "garbage"], 2, "invalid address"),
    ],
)
def test_errors_are_one_line(cli: Any, args: list[str], code: int, message: str, unchanged) -> None:
    with unchanged():
        r = cli(*args, ok=False)
        rj = cli("--json", *args, ok=False)
    assert r.exit_code == code, (r.stdout, r.stderr)
    assert message in r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
    assert "Traceback" not in r.output
    assert rj.exit_code == code
    assert set(json.loads(rj.stderr)) == {"error", "detail"}


def test_node_not_reachable(cli: Any, network: Deployment) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    r = cli("--rpc-url", url, "points", "balance", "acme", BOB.address, ok=False)
    assert r.exit_code == 1 and "no Ethereum node answers" in r.stderr
    assert "Traceback" not in r.output


def test_chain_up_reuses_a_running_node(cli: Any, anvil_node: Anvil) -> None:
    r = cli("--json", "chain", "up")
    assert json.loads(r.stdout) == {"url": anvil_node.url, "reused": True, "pid": None}


def test_chain_up_starts_and_stops_anvil(tmp_path: Path) -> None:
    """`loyalty chain up` runs until SIGTERM, then takes its anvil down with it."""
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalty_ledger", "--rpc-url", url, "chain", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 20
        while rpc_chain_id(url) is None:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert b"running at" in proc.stdout.read()  # type: ignore[union-attr]
        assert rpc_chain_id(url) is None
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(
    ("flag", "value"), [("--name", "Gamma\x07"), ("--symbol", "G\nM"), ("--tier", "Gold\x1b[0m")]
)
def test_brand_add_refuses_control_characters(cli: Any, flag: str, value: str) -> None:
    args = {"--name": "Gamma", "--symbol": "GAM", "--tier": "Bronze"} | {flag: value}
    r = cli(
        "brand",
        "add",
        "delta",
        "--admin",
        ACME_ADMIN.address,
        *[x for pair in args.items() for x in pair],
        ok=False,
    )
    assert r.exit_code == 2 and "printable" in r.stderr, (r.output, r.stderr)
    assert "delta" not in Deployment.load(cli.dep_file).programs
