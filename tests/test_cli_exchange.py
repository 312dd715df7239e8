"""`loyalty exchange …` and `loyalty points policy|lots` end to end on anvil (CliRunner)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.ledger import exchange

from .conftest import ACME_ADMIN, ALICE, ALICE_START, BETA_ADMIN

pytestmark = pytest.mark.chain

ACME_KEY = "0x" + bytes(ACME_ADMIN.key).hex()
BETA_KEY = "0x" + bytes(BETA_ADMIN.key).hex()
ALICE_KEY = "0x" + bytes(ALICE.key).hex()


def open_exchange(cli: Any) -> int:
    r = cli(
        "--json",
        "exchange",
        "open",
        "acme",
        "beta",
        "--rate-from",
        "100",
        "--rate-to",
        "80",
        "--daily-cap",
        "500",
        "--budget",
        "1000",
    )
    ex_id = int(json.loads(r.stdout)["exchange_id"])
    assert "approve" in cli("exchange", "approve", str(ex_id), "--key", ACME_KEY).stdout
    data = json.loads(cli("--json", "exchange", "approve", str(ex_id), "--key", BETA_KEY).stdout)
    assert data["opened"] and data["granted"] == ["beta"]
    return ex_id


def test_open_approve_list_quote_swap(cli: Any, w3: Web3, network: Deployment) -> None:
    ex_id = open_exchange(cli)
    listed = cli("exchange", "list").stdout
    assert f"#{ex_id} acme → beta at 100:80" in listed and "open" in listed
    (row,) = [e for e in json.loads(cli("--json", "exchange", "list").stdout)["exchanges"]]
    assert row["id"] == ex_id and row["status"] == "open" and row["budget"] == 1000
    assert "55 acme points → 44 beta points" in cli("exchange", "quote", str(ex_id), "55").stdout
    q = json.loads(cli("--json", "exchange", "quote", str(ex_id), "55").stdout)
    assert (q["burned"], q["issued"]) == (55, 44)

    eth = w3.eth.get_balance(ALICE.address)
    r = cli("exchange", "swap", str(ex_id), "50", "--key", ALICE_KEY)
    assert "swapped 50 acme points for 40 beta points" in r.stdout
    assert w3.eth.get_balance(ALICE.address) == eth  # gasless: the relayer paid
    data = json.loads(
        cli("--json", "exchange", "swap", str(ex_id), "10", "--key", ALICE_KEY, "--direct").stdout
    )
    assert (data["member"], data["burned"], data["issued"]) == (ALICE.address, 10, 8)
    acme, beta = network.program("acme"), network.program("beta")
    assert ledger.balance_of(w3=w3, program=acme, member=ALICE.address) == ALICE_START - 60
    assert ledger.balance_of(w3=w3, program=beta, member=ALICE.address) == 48


def test_pause_refuses_swap(cli: Any, w3: Web3, network: Deployment, unchanged) -> None:
    ex_id = open_exchange(cli)
    cli("exchange", "pause", str(ex_id), "--key", BETA_KEY)
    assert "paused" in cli("exchange", "list").stdout
    with unchanged():
        r = cli("exchange", "swap", str(ex_id), "50", "--key", ALICE_KEY, ok=False)
        assert r.exit_code == 1 and r.stderr.strip() == f"error: exchange {ex_id} is paused"
        assert "Traceback" not in r.output
        r = cli("--json", "exchange", "swap", str(ex_id), "50", "--key", ALICE_KEY, ok=False)
        assert r.exit_code == 1 and json.loads(r.stderr)["error"] == "exchange_paused"
        r = cli("exchange", "unpause", str(ex_id), "--key", ACME_KEY, ok=False)  # not acme's
        assert r.exit_code == 1 and "has not paused" in r.stderr
    cli("exchange", "unpause", str(ex_id), "--key", BETA_KEY)
    cli("exchange", "pause", str(ex_id), "--operator")
    assert cli("exchange", "swap", str(ex_id), "50", "--key", ALICE_KEY, ok=False).exit_code == 1
    cli("exchange", "unpause", str(ex_id), "--operator")
    cli("exchange", "swap", str(ex_id), "50", "--key", ALICE_KEY)


def test_bad_input_exits_2_and_changes_nothing(cli: Any, unchanged) -> None:
    ex_id = open_exchange(cli)
    with unchanged():
        for args in (("2.5",), ("1",)):  # not whole; buys nothing at 100:80
            r = cli("exchange", "swap", str(ex_id), *args, "--key", ALICE_KEY, ok=False)
            assert r.exit_code == 2 and r.stderr.startswith("error: ")
        r = cli("exchange", "quote", "99", "10", ok=False)
        assert r.exit_code == 1 and "no exchange 99" in r.stderr
        r = cli("exchange", "approve", str(ex_id), "--key", ALICE_KEY, ok=False)
        assert r.exit_code == 1 and "not allowed" in r.stderr


def test_open_on_a_deployment_from_before_the_exchange(cli: Any, w3: Web3) -> None:
    data = json.loads(cli.dep_file.read_text())
    del data["exchange"]
    cli.dep_file.write_text(json.dumps(data))
    ex_id = open_exchange(cli)
    dep = Deployment.load(cli.dep_file)
    assert dep.exchange and w3.eth.get_code(dep.exchange) and ex_id == 0
    assert exchange.exchange_of(w3=w3, deployment=dep, exchange_id=0).status == "open"


def test_points_policy_and_lots(cli: Any, w3: Web3) -> None:
    assert "never expire" in cli("points", "policy", "beta").stdout
    r = cli("points", "policy", "beta", "--epochs", "2", "--key", BETA_KEY)
    assert "stay valid 2 epochs" in r.stdout
    policy = json.loads(cli("--json", "points", "policy", "beta").stdout)
    assert policy["validity_epochs"] == 2 and policy["epoch_length"] == 30 * 86_400
    ex_id = open_exchange(cli)
    cli("exchange", "swap", str(ex_id), "50", "--key", ALICE_KEY)
    held = json.loads(cli("--json", "points", "lots", "beta", ALICE.address).stdout)
    assert held["total"] == 40 and held["permanent"] == 0
    assert [(lot["expiry_epoch"], lot["amount"]) for lot in held["lots"]] == [
        (policy["current_epoch"] + 2, 40)
    ]
    human = cli("points", "lots", "beta", ALICE.address).stdout
    assert "40 expire at" in human and "UTC" in human
    assert "50 never expire" in cli("points", "lots", "acme", ALICE.address).stdout
    r = cli("points", "policy", "beta", "--epochs", "1001", "--key", BETA_KEY, ok=False)
    assert r.exit_code == 2 and "1000" in r.stderr
