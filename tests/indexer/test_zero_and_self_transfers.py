"""EIP-20 transfers of 0 points and ERC-721 self-transfers of a pass, on the real contracts: the
mirror equals the chain (balances, lots, passes, the history with its 0-point lines), the audit
of that mirror finds nothing, and the insights count only transfers that moved points; on
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from web3 import Web3

from loyalty_ledger.audit.chain_replay import Network
from loyalty_ledger.audit.report import to_text
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.expiry import PERMANENT
from loyalty_ledger.indexer import Indexer, IndexerOptions
from loyalty_ledger.insights import report
from loyalty_ledger.store import metadata

from .expiry_net import (
    ACME,
    ALICE,
    BETA,
    BOB,
    CAROL,
    DAVE,
    EPOCH,
    XNet,
    assert_lots_equal_chain,
    build,
    require_artifacts,
)
from .netutil import assert_mirror_equals_chain

pytestmark = [pytest.mark.chain]


@pytest.fixture
def x(w3: Web3, tmp_path: Path) -> XNet:
    require_artifacts()
    return build(w3, tmp_path)


def _index(anvil: Anvil, db_url: str, tmp_path: Path) -> None:
    opts = IndexerOptions.from_deployment(
        tmp_path / "deployment.json",
        rpc_url=anvil.url,
        database_url=db_url,
        progress=False,
        rpc_timeout=5.0,
        poll_interval=0.02,
    )
    Indexer(opts).run(follow=False)


def _zero_transfers(x: XNet) -> int:
    """Transfers of 0 on a program with lots and permanent points; returns how many."""
    a, adm = x.acme, ACME.address
    x.issue(a, adm, ALICE.address, 40)  # permanent
    x.policy(a, adm, 2)
    x.issue(a, adm, ALICE.address, 25)  # lot e+2
    lot = max(k for k in x.book(a).holding(ALICE.address.lower()).lots if k != PERMANENT)
    x.transfer(a, ALICE.address, BOB.address, 0)
    x.transfer(a, CAROL.address, DAVE.address, 0)  # neither holds a point, ever
    x.transfer(a, ALICE.address, ALICE.address, 0)
    x.transfer_at(a, ALICE.address, BOB.address, lot, 0)
    x.transfer_at(a, ALICE.address, BOB.address, PERMANENT, 0)
    x.transfer_at(a, ALICE.address, BOB.address, lot + 1, 0)  # a lot nobody holds
    # transferFrom of 0 by a spender with no allowance (OpenZeppelin allows it: 0 <= 0).
    _, ts = x.send(a.functions.transferFrom(ALICE.address, CAROL.address, 0), DAVE.address)
    x.book(a).move(ALICE.address.lower(), CAROL.address.lower(), 0, ts)
    x.transfer(a, ALICE.address, BOB.address, 5)  # and a real one among them
    return 7


def _pass_self_transfers(x: XNet) -> tuple[int, int]:
    """A pass minted unlocked (beta transferable) moved to its holder twice; a soulbound one."""
    beta = x.net.brands[1].pass_
    acme = x.net.brands[0].pass_
    x.send(beta.functions.setTransferable(True), BETA.address)
    x.send(beta.functions.issue(BOB.address, 0, 0), BETA.address)
    x.send(acme.functions.issue(CAROL.address, 0, 0), ACME.address)
    tid = beta.functions.passOf(BOB.address).call()
    x.send(beta.functions.transferFrom(BOB.address, BOB.address, tid), BOB.address)
    x.send(beta.functions.approve(DAVE.address, tid), BOB.address)
    x.send(
        beta.functions.safeTransferFrom(BOB.address, BOB.address, tid, b""),  # type: ignore[call-arg]
        DAVE.address,
    )
    return tid, acme.functions.passOf(CAROL.address).call()


def test_zero_transfers_and_pass_self_transfers_mirror_and_audit(
    x: XNet, anvil: Anvil, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    zeros = _zero_transfers(x)
    tid, soulbound = _pass_self_transfers(x)
    x.wait(EPOCH)
    x.transfer(x.acme, ALICE.address, BOB.address, 0)  # in the next epoch too
    _index(anvil, db_url, tmp_path)
    assert_lots_equal_chain(x, engine)
    assert_mirror_equals_chain(x.net, engine)
    t = metadata.tables
    tok = x.acme.address.lower()
    beta_pass = x.net.brands[1].pass_.address.lower()
    acme_pass = x.net.brands[0].pass_.address.lower()
    with engine.connect() as c:
        entries = c.execute(
            select(t["ledger_entry"]).where(t["ledger_entry"].c.token == tok)
        ).mappings()
        transfers = [(e["kind"], e["account"], e["counterparty"], e["amount"]) for e in entries]
        lots = c.execute(select(t["point_lot"]).where(t["point_lot"].c.token == tok)).all()
        passes = {
            (r["contract"], r["token_id"]): r for r in c.execute(select(t["pass"])).mappings().all()
        }
        events = c.execute(
            select(t["event"].c.event, t["event"].c.args).where(t["event"].c.contract == beta_pass)
        ).all()
    zero_rows = [e for e in transfers if e[0] == "transfer" and e[3] == 0]
    assert len(zero_rows) == zeros + 1
    assert ("transfer", ALICE.address.lower(), ALICE.address.lower(), 0) in zero_rows
    assert ("transfer", CAROL.address.lower(), DAVE.address.lower(), 0) in zero_rows
    assert all(r.amount > 0 for r in lots), "a 0-point lot row"
    assert {r.holder for r in lots} == {ALICE.address.lower(), BOB.address.lower()}
    row = passes[(beta_pass, tid)]
    assert (row["owner"], row["locked"]) == (BOB.address.lower(), False)
    assert passes[(acme_pass, soulbound)]["locked"] is True
    assert [e.event for e in events].count("Unlocked") == 1
    assert [e.args["to"] for e in events if e.event == "Transfer"].count(BOB.address.lower()) == 3

    network = Network(
        anvil.url,
        x.net.registry.address.lower(),
        x.net.start_block,
        x.net.forwarder.address.lower(),
        x.exchange.address.lower(),
    )
    rep = run_audit(network, database=db_url)
    assert rep.ok, to_text(rep)
    assert rep.findings == [], to_text(rep)
    acme = next(p for p in rep.state["programs"] if p["brand"] == "acme")
    assert acme["liability"]["issued"] == 65
    assert acme["liability"]["outstanding"] == 65

    # Insights count the one transfer that moved points, not the eight of 0.
    program = Deployment.load(tmp_path / "deployment.json").program("acme")
    eco = report.points(engine=engine, program=program)
    assert eco["transfers"] == {"count": 1, "points": 5}
    assert (eco["issued"], eco["outstanding_liability"]) == (65, 65)
