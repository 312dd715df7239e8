"""A node whose eth_getLogs answers carry no `blockTimestamp` (Hardhat's node): the replay fetches
the blocks' times as the indexer does, and a mirror built there audits clean."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from loyalty_ledger.audit.chain_replay import Network
from loyalty_ledger.audit.report import to_text
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.store import metadata

from ..indexer.faultproxy import FaultProxy
from .mirrors import PARAMS, indexed_mirror, rows

pytestmark = pytest.mark.chain
LE = metadata.tables["ledger_entry"]


@pytest.fixture
def proxy(scenario: Any) -> Iterator[FaultProxy]:
    with FaultProxy(scenario.anvil.url) as p:
        p.strip_timestamps = True
        yield p


@pytest.fixture(params=PARAMS)
def mirror(
    request: pytest.FixtureRequest, scenario: Any, proxy: FaultProxy, tmp_path: Path
) -> Iterator[str]:
    yield from indexed_mirror(request.param, tmp_path, proxy.url, scenario.deployment)


def test_logs_without_block_times_audit_clean(
    scenario: Any, proxy: FaultProxy, mirror: str
) -> None:
    logs = proxy.session.post(
        scenario.anvil.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getLogs",
            "params": [{"fromBlock": "0x0", "toBlock": "latest"}],
        },
    ).json()["result"]
    assert logs and all("blockTimestamp" in lg for lg in logs)  # anvil gives them ...
    net = scenario.network
    stripped = Network(proxy.url, net.registry, net.start_block, net.forwarder)
    rep = run_audit(stripped, database=mirror, check_code=False)  # ... the proxy does not
    assert rep.findings == [], to_text(rep)
    times = [r["block_time"] for r in rows(mirror, select(LE))]
    assert times and None not in times
    # The replay's times are the blocks' own: its statement dates equal a direct audit's.
    direct = run_audit(net, at_block=rep.block, check_code=False, member=scenario.addr(0))
    again = run_audit(stripped, at_block=rep.block, check_code=False, member=scenario.addr(0))
    assert again.statement == direct.statement and again.state == direct.state
