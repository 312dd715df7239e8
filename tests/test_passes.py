"""Membership passes: issue, tiers, renewal, revocation, soulbinding."""

from __future__ import annotations

import pytest
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import (
    AccountFrozen,
    InvalidExpiry,
    InvalidInput,
    InvalidTier,
    NoPass,
    NotAMember,
    PassAlreadyHeld,
    PassNotTransferable,
    SameTier,
)
from loyalty_ledger.ledger import passes

from .conftest import ACME_TIERS, ALICE, BOB, CAROL

pytestmark = pytest.mark.chain


def now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def test_pass_lifecycle(w3: Web3, acme: Program, acme_admin: Sender) -> None:
    assert passes.tiers(w3=w3, program=acme) == ACME_TIERS
    assert ledger.pass_of(w3=w3, program=acme, member=ALICE.address) is None
    expiry = now(w3) + 86_400
    token_id, _ = ledger.issue_pass(
        sender=acme_admin, program=acme, member=ALICE.address, tier="silver", expires_at=expiry
    )
    info = ledger.pass_of(w3=w3, program=acme, member=ALICE.address)
    assert info is not None
    assert (info.token_id, info.owner, info.tier, info.tier_name) == (
        token_id,
        ALICE.address,
        0,
        "Silver",
    )
    assert info.expires_at == expiry and info.active and info.locked
    ledger.set_tier(sender=acme_admin, program=acme, member=ALICE.address, tier=2)  # upgrade
    assert ledger.pass_of(w3=w3, program=acme, member=ALICE.address).tier_name == "Platinum"
    ledger.set_tier(sender=acme_admin, program=acme, member=ALICE.address, tier="Gold")
    assert ledger.pass_of(w3=w3, program=acme, member=ALICE.address).tier == 1  # downgrade
    ledger.renew_pass(
        sender=acme_admin, program=acme, member=ALICE.address, expires_at=expiry + 1000
    )
    assert ledger.pass_of(w3=w3, program=acme, member=ALICE.address).expires_at == expiry + 1000
    ledger.revoke_pass(sender=acme_admin, program=acme, member=ALICE.address)
    assert ledger.pass_of(w3=w3, program=acme, member=ALICE.address) is None


def test_soulbound_pass_cannot_move(
    w3: Web3, acme: Program, acme_admin: Sender, alice: Sender, unchanged
) -> None:
    token_id, _ = ledger.issue_pass(sender=acme_admin, program=acme, member=ALICE.address)
    with unchanged(), pytest.raises(PassNotTransferable) as info:
        ledger.transfer_pass(sender=alice, program=acme, to=BOB.address)
    assert info.value.token_id == token_id
    # Once the brand allows transfer, it moves.
    ledger.set_transferable(sender=acme_admin, program=acme, transferable=True)
    ledger.transfer_pass(sender=alice, program=acme, to=BOB.address)
    assert ledger.pass_of(w3=w3, program=acme, member=BOB.address).token_id == token_id


def test_pass_rejections(
    w3: Web3,
    network: Deployment,
    operator: Sender,
    acme: Program,
    acme_admin: Sender,
    bob: Sender,
    unchanged,
) -> None:
    token_id, _ = ledger.issue_pass(sender=acme_admin, program=acme, member=ALICE.address)
    with unchanged():
        with pytest.raises(PassAlreadyHeld) as held:
            ledger.issue_pass(sender=acme_admin, program=acme, member=ALICE.address)
        assert held.value.token_id == token_id
        with pytest.raises(NotAMember):
            ledger.issue_pass(sender=acme_admin, program=acme, member=CAROL.address)
        with pytest.raises(NoPass):
            ledger.set_tier(sender=acme_admin, program=acme, member=BOB.address, tier=1)
        with pytest.raises(NoPass):
            ledger.revoke_pass(sender=acme_admin, program=acme, member=BOB.address)
        with pytest.raises(NoPass):
            ledger.transfer_pass(sender=bob, program=acme, to=ALICE.address)
        with pytest.raises(SameTier):
            ledger.set_tier(sender=acme_admin, program=acme, member=ALICE.address, tier=0)
        with pytest.raises(InvalidTier):
            ledger.set_tier(sender=acme_admin, program=acme, member=ALICE.address, tier=3)
        with pytest.raises(InvalidInput):
            ledger.set_tier(sender=acme_admin, program=acme, member=ALICE.address, tier="Diamond")
        with pytest.raises(InvalidExpiry):
            ledger.renew_pass(
                sender=acme_admin, program=acme, member=ALICE.address, expires_at=now(w3) - 10
            )
        with pytest.raises(InvalidExpiry):
            ledger.renew_pass(sender=acme_admin, program=acme, member=ALICE.address, expires_at=-1)
    ledger.freeze_member(sender=operator, deployment=network, member=BOB.address)
    with unchanged(), pytest.raises(AccountFrozen):
        ledger.issue_pass(sender=acme_admin, program=acme, member=BOB.address)
