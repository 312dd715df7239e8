"""A mirror audited against a node whose chain is not the mirror's: reset (another genesis) or
rolled back below the mirror's checkpoint. The audit says which, instead of "block N is beyond
the head M"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from loyalty_ledger.audit.chain_replay import Network
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.audit.verify_mirror import MirrorNotOfThisChain
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.cli.audit import audit_app

from .mirrors import indexed_mirror

pytestmark = pytest.mark.chain


@pytest.fixture
def mirror(scenario: Any, tmp_path: Path) -> Iterator[str]:
    yield from indexed_mirror("sqlite", tmp_path, scenario.anvil.url, scenario.deployment)


def test_mirror_against_a_fresh_chain_says_the_chain_was_reset(
    scenario: Any, mirror: str, tmp_path: Path
) -> None:
    with Anvil(port=0, extra_args=["--timestamp", "1000"]) as fresh:
        net = Network(fresh.url, scenario.network.registry, scenario.network.start_block)
        with pytest.raises(MirrorNotOfThisChain, match="the chain was reset") as err:
            run_audit(net, database=mirror, check_code=False)
        assert "beyond the head" not in str(err.value)
        assert f"up to block {scenario.marks['end']}" in str(err.value)
        dep = tmp_path / "deployment.json"
        scenario.deployment.save(dep)
        res = CliRunner().invoke(
            audit_app, ["--rpc-url", fresh.url, "--deployment", str(dep), "--database", mirror]
        )
    assert res.exit_code == 2
    assert "the chain was reset" in res.output


def test_mirror_beyond_a_rolled_back_head_says_so(snapshot: Any, tmp_path: Path) -> None:
    sc = snapshot
    snap = sc.rpc.call("evm_snapshot")
    sc.rpc.call("anvil_mine", [hex(5)])
    (url,) = indexed_mirror("sqlite", tmp_path, sc.anvil.url, sc.deployment)
    sc.rpc.call("evm_revert", [snap])
    with pytest.raises(MirrorNotOfThisChain, match="rolled back") as err:
        run_audit(sc.network, database=url, check_code=False)
    assert f"beyond the head {sc.marks['end']}" in str(err.value)
