"""Fixtures of the audit tests: a real anvil with a small but complete ledger on it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.audit.chain_replay import Network
from loyalty_ledger.audit.rpc import Rpc
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.deploy import Deployment, Program, add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.ledger import exchange, gasless, lots, passes

DAY = 86_400


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


# -- a network with point expiry and a coalition exchange ----------------------------------


@dataclass
class Books:
    """Acme (validity 2 days) and bolt (validity 3 days) with 1-day epochs; an exchange acme ->
    bolt at 100:80. See `_build_books` for the story; `e0` is acme's epoch at its policy."""

    anvil: Anvil
    w3: Web3
    rpc: Rpc
    deployment: Deployment
    members: list[Sender]
    acme: Program
    bolt: Program
    e0: int
    marks: dict[str, int] = field(default_factory=dict)

    @property
    def network(self) -> Network:
        d = self.deployment
        return Network(
            self.anvil.url,
            d.registry.lower(),
            d.start_block,
            d.forwarder.lower(),
            (d.exchange or "").lower() or None,
        )

    def addr(self, i: int) -> str:
        return self.members[i].address.lower()

    def next_day(self) -> None:
        self.rpc.call("evm_increaseTime", [DAY])
        self.rpc.call("evm_mine")


def _build_books(node: Anvil) -> Books:
    w3 = Web3(Web3.HTTPProvider(node.url))
    rpc = Rpc(node.url)
    now = int(rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    # Start at a noon, far from the midnights where the 1-day epochs turn.
    rpc.call("evm_setNextBlockTimestamp", [now - now % DAY + DAY + DAY // 2])
    op, brand = Sender(w3, ANVIL_DEV_KEYS[0]), Sender(w3, ANVIL_DEV_KEYS[1])
    m = [Sender(w3, k) for k in ANVIL_DEV_KEYS[2:6]]
    a = [s.address for s in m]
    dep = deploy_network(w3, op)
    kw: dict[str, Any] = {"admin": brand.address, "tiers": ["Basic"], "epoch_length": DAY}
    acme = add_brand(w3, op, dep, brand_id="acme", name="Acme", symbol="ACM", **kw)
    bolt = add_brand(w3, op, dep, brand_id="bolt", name="Bolt", symbol="BLT", **kw)
    ledger.register_members(sender=op, deployment=dep, members=a)
    ledger.issue_points(sender=brand, program=acme, member=a[0], amount=100, reason="signup")
    lots.set_validity_duration(sender=brand, program=acme, epochs=2)
    lots.set_validity_duration(sender=brand, program=bolt, epochs=3)
    e0 = lots.policy_of(w3=w3, program=acme).current_epoch
    ledger.issue_points(sender=brand, program=acme, member=a[0], amount=200, reason="purchase")
    ledger.issue_points(sender=brand, program=acme, member=a[1], amount=150, reason="purchase")
    books = Books(node, w3, rpc, dep, m, acme, bolt, e0)
    books.next_day()  # epoch e0 + 1
    ledger.issue_points(sender=brand, program=acme, member=a[0], amount=50, reason="review")
    ledger.gift_points(sender=m[0], program=acme, to=a[2], amount=80, memo="for you")
    ledger.redeem_points(sender=m[1], program=acme, amount=30, ref="order-1")
    token = contracts.points(w3, acme)
    m[0].transact(token.functions.transferAtEpoch(e0 + 3, a[3], 20))
    xid, _ = exchange.register_exchange(
        sender=op,
        deployment=dep,
        from_brand="acme",
        to_brand="bolt",
        rate_from=100,
        rate_to=80,
        daily_cap=500,
        budget=1000,
    )
    exchange.approve_exchange(sender=brand, deployment=dep, exchange_id=xid)
    exchange.swap(sender=m[0], deployment=dep, exchange_id=xid, amount=100)
    gasless.relay_swap(relayer=op, deployment=dep, signer=m[2].account, exchange_id=xid, amount=50)
    books.marks["before_expiry"] = w3.eth.block_number
    books.next_day()  # epoch e0 + 2: acme's lot e0 + 2 is dead
    ledger.redeem_points(sender=m[0], program=acme, amount=10, ref="order-2")
    books.marks["end"] = w3.eth.block_number
    return books


@pytest.fixture(scope="session")
def books() -> Iterator[Books]:
    node = Anvil(port=0).start()
    try:
        yield _build_books(node)
    finally:
        node.stop()
