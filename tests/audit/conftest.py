"""Fixtures of the audit tests: a real anvil with a small but complete ledger on it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from web3 import Web3

from loyalty_ledger import ledger, passes
from loyalty_ledger.anvil import Anvil
from loyalty_ledger.audit.chain_replay import Network
from loyalty_ledger.audit.rpc import Rpc
from loyalty_ledger.chain import Sender
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.deploy import Deployment, Program, add_brand, deploy_network


@dataclass
class Scenario:
    anvil: Anvil
    w3: Web3
    rpc: Rpc
    deployment: Deployment
    operator: Sender
    brand: Sender
    members: list[Sender]
    acme: Program
    bolt: Program
    marks: dict[str, int] = field(default_factory=dict)  # named block numbers
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def network(self) -> Network:
        return Network(
            self.anvil.url,
            self.deployment.registry.lower(),
            self.deployment.start_block,
            self.deployment.forwarder.lower(),
        )

    def addr(self, i: int) -> str:
        return self.members[i].address.lower()


def _build(node: Anvil) -> Scenario:
    w3 = Web3(Web3.HTTPProvider(node.url))
    op = Sender(w3, ANVIL_DEV_KEYS[0])
    brand = Sender(w3, ANVIL_DEV_KEYS[1])
    members = [Sender(w3, k) for k in ANVIL_DEV_KEYS[2:8]]
    dep = deploy_network(w3, op)
    acme = add_brand(
        w3,
        op,
        dep,
        brand_id="acme",
        name="Acme",
        symbol="ACM",
        admin=brand.address,
        tiers=["Silver", "Gold", "Platinum"],
    )
    bolt = add_brand(
        w3,
        op,
        dep,
        brand_id="bolt",
        name="Bolt",
        symbol="BLT",
        admin=brand.address,
        tiers=["Basic"],
    )
    m = [s.address for s in members]
    ledger.register_members(sender=op, deployment=dep, members=m[:5])
    ledger.issue_points(
        sender=brand, program=acme, member=m[0], amount=500, reason="purchase", ref="order-1"
    )
    ledger.issue_points(sender=brand, program=acme, member=m[1], amount=300, reason="signup")
    ledger.issue_points_batch(
        sender=brand,
        program=acme,
        reason="review",
        items=[ledger.BatchItem(m[i], 10 * (i + 1), f"rv-{i}") for i in range(5)],
    )
    ledger.issue_points(sender=brand, program=bolt, member=m[2], amount=70, reason="visit")
    passes.issue_pass(sender=brand, program=acme, member=m[0], tier=0)
    passes.issue_pass(
        sender=brand,
        program=acme,
        member=m[1],
        tier=1,
        expires_at=int(time.time()) + 10 * 365 * 86400,
    )
    passes.issue_pass(sender=brand, program=acme, member=m[4], tier=0)
    marks = {"mid": w3.eth.block_number}
    mid_balances = {a.lower(): ledger.balance_of(w3=w3, program=acme, member=a) for a in m[:5]}
    ledger.redeem_points(sender=members[0], program=acme, amount=120, ref="order-2")
    ledger.gift_points(sender=members[1], program=acme, to=m[2], amount=50, memo="happy birthday")
    ledger.transfer_points(sender=members[0], program=acme, to=m[3], amount=30)
    passes.set_tier(sender=brand, program=acme, member=m[0], tier=2)
    passes.renew_pass(
        sender=brand, program=acme, member=m[0], expires_at=int(time.time()) + 365 * 86400
    )
    passes.revoke_pass(sender=brand, program=acme, member=m[4])
    ledger.freeze_member(sender=op, deployment=dep, member=m[3])
    ledger.forfeit_points(sender=brand, program=acme, member=m[3], amount=20, reason="fraud")
    ledger.register_member(sender=op, deployment=dep, member=m[5])
    ledger.recover_member(sender=op, deployment=dep, lost_wallet=m[1], new_wallet=m[5])
    passes.set_transferable(sender=brand, program=bolt, transferable=True)
    ledger.pause(sender=brand, program=bolt)
    marks["end"] = w3.eth.block_number
    return Scenario(
        node,
        w3,
        Rpc(node.url),
        dep,
        op,
        brand,
        members,
        acme,
        bolt,
        marks,
        {"mid_balances": mid_balances},
    )


@pytest.fixture(scope="session")
def scenario() -> Iterator[Scenario]:
    node = Anvil(port=0).start()
    try:
        yield _build(node)
    finally:
        node.stop()


@pytest.fixture
def snapshot(scenario: Scenario) -> Iterator[Scenario]:
    """The scenario, with every chain change made by the test reverted afterwards."""
    snap = scenario.rpc.call("evm_snapshot")
    try:
        yield scenario
    finally:
        scenario.rpc.call("evm_revert", [snap])
        for s in [scenario.operator, scenario.brand, *scenario.members]:
            s.reset_nonce()
