"""The audit through a faulty node (a real HTTP proxy in front of anvil): 429, 5xx, dropped
connections and answers cut off are retried with backoff; a node that keeps failing stops the
audit after a bounded time with a message that says what it did."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from loyalty_ledger.audit.report import to_text
from loyalty_ledger.audit.rpc import Rpc
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.cli.audit import audit_app
from loyalty_ledger.retry import NodeGaveUp

from ..indexer.faultproxy import FaultProxy

pytestmark = pytest.mark.chain
FAULTS = ("429", "500", "502", "503", "reset", "truncate", "short", "hang")


@pytest.fixture(scope="module")
def clean(scenario: Any) -> Any:
    return run_audit(scenario.network, at_block=scenario.marks["end"], check_code=False)


def test_audit_through_a_faulty_node_equals_a_clean_one(scenario: Any, clean: Any) -> None:
    with FaultProxy(scenario.anvil.url, rate=0.25, seed=3, modes=FAULTS, hang=1.0) as proxy:
        # Every kind of fault once, between good answers, then faults at random.
        proxy.script = [m for mode in FAULTS for m in (mode, None)]
        rpc = Rpc(
            proxy.url, timeout=0.5, batch_size=4, backoff=0.01, max_backoff=0.1, give_up_after=30
        )
        rep = run_audit(scenario.network, at_block=scenario.marks["end"], check_code=False, rpc=rpc)
    assert rep.ok, to_text(rep)
    assert (rep.digest, rep.events, rep.state) == (clean.digest, clean.events, clean.state)
    assert rep.checks["chain"] == clean.checks["chain"]
    assert set(proxy.injected) == set(FAULTS)
    assert rpc.retry.retries >= sum(proxy.injected.values())


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("truncate", "the answer was cut off after"),
        ("short", "the answer was cut off after"),
        ("503", "HTTP 503"),
        ("reset", "connection failed or dropped"),
    ],
)
def test_node_that_keeps_failing_stops_the_audit_plainly(
    scenario: Any, mode: str, says: str
) -> None:
    with FaultProxy(scenario.anvil.url, rate=1.0, modes=(mode,)) as proxy:
        rpc = Rpc(proxy.url, backoff=0.05, max_backoff=0.2, give_up_after=1.0)
        with pytest.raises(NodeGaveUp) as err:
            run_audit(scenario.network, check_code=False, rpc=rpc)
    msg = str(err.value)
    assert says in msg and "eth_chainId" in msg and proxy.url in msg
    assert "LOYALTY_RPC_URL" in msg
    if mode in ("truncate", "short"):
        assert "truncated JSON" in msg


def test_retries_name_the_method_and_recovery_is_said_once(
    scenario: Any, clean: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with FaultProxy(scenario.anvil.url) as proxy:
        proxy.script = ["503", "truncate", "reset"]  # the first three requests fail
        rpc = Rpc(proxy.url, backoff=0.01, give_up_after=10)
        with caplog.at_level(logging.INFO, logger="loyalty_ledger.audit"):
            rep = run_audit(
                scenario.network, at_block=scenario.marks["end"], check_code=False, rpc=rpc
            )
    assert rep.ok and rep.digest == clean.digest
    lines = [r.getMessage() for r in caplog.records]
    assert any("rpc eth_chainId" in line and "HTTP 503" in line for line in lines)
    again = [line for line in lines if "answers again" in line]
    assert len(again) == 1 and "eth_chainId" in again[0] and "3 failed tries" in again[0]


def test_cli_exit_2_and_a_plain_message(scenario: Any, tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    scenario.deployment.save(dep)
    with FaultProxy(scenario.anvil.url, rate=1.0, modes=("truncate",)) as proxy:
        res = CliRunner().invoke(
            audit_app,
            ["--rpc-url", proxy.url, "--deployment", str(dep), "--give-up-after", "0.5"],
        )
    assert res.exit_code == 2, res.output
    assert "cut off" in res.output and "Traceback" not in res.output
