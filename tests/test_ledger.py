"""Domain operations: members and points, happy paths and every rejected input."""

from __future__ import annotations

import pytest
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import (
    AccountFrozen,
    AlreadyMember,
    InsufficientPoints,
    InvalidAddress,
    InvalidAmount,
    InvalidInput,
    NotAMember,
    Paused,
    Unauthorized,
)
from loyalty_ledger.ledger import BatchItem
from loyalty_ledger.validate import ref_bytes

from .conftest import ALICE, ALICE_START, BOB, CAROL, MALLORY

pytestmark = pytest.mark.chain


def bal(w3: Web3, program: Program, who: str) -> int:
    return ledger.balance_of(w3=w3, program=program, member=who)


# --- members --------------------------------------------------------------------------------


def test_member_lifecycle(w3: Web3, network: Deployment, operator: Sender) -> None:
    s = ledger.member_status(w3=w3, deployment=network, account=CAROL.address)
    assert not s.is_member
    ledger.register_member(sender=operator, deployment=network, member=CAROL.address)
    ledger.freeze_member(sender=operator, deployment=network, member=CAROL.address)
    s = ledger.member_status(w3=w3, deployment=network, account=CAROL.address)
    assert s.is_member and s.frozen
    ledger.unfreeze_member(sender=operator, deployment=network, member=CAROL.address)
    ledger.deregister_member(sender=operator, deployment=network, member=CAROL.address)
    s = ledger.member_status(w3=w3, deployment=network, account=CAROL.address)
    assert not s.is_member and not s.frozen


def test_register_twice_rejected(network: Deployment, operator: Sender, unchanged) -> None:
    with unchanged(), pytest.raises(AlreadyMember):
        ledger.register_member(sender=operator, deployment=network, member=ALICE.address)


def test_registrar_role(
    network: Deployment, operator: Sender, acme_admin: Sender, unchanged
) -> None:
    with unchanged(), pytest.raises(Unauthorized):
        ledger.register_member(sender=acme_admin, deployment=network, member=CAROL.address)
    ledger.grant_registrar(sender=operator, deployment=network, account=acme_admin.address)
    ledger.register_member(sender=acme_admin, deployment=network, member=CAROL.address)
    # Freezing stays with the operator.
    with unchanged(), pytest.raises(Unauthorized):
        ledger.freeze_member(sender=acme_admin, deployment=network, member=CAROL.address)


def test_recover_moves_points_and_pass(
    w3: Web3, network: Deployment, operator: Sender, acme_admin: Sender, acme: Program
) -> None:
    ledger.issue_pass(sender=acme_admin, program=acme, member=ALICE.address, tier="Gold")
    ledger.register_member(sender=operator, deployment=network, member=CAROL.address)
    ledger.recover_member(
        sender=operator, deployment=network, lost_wallet=ALICE.address, new_wallet=CAROL.address
    )
    assert bal(w3, acme, ALICE.address) == 0
    assert bal(w3, acme, CAROL.address) == ALICE_START
    info = ledger.pass_of(w3=w3, program=acme, member=CAROL.address)
    assert info is not None and info.tier_name == "Gold"
    s = ledger.member_status(w3=w3, deployment=network, account=ALICE.address)
    assert not s.is_member and s.recovered_to == CAROL.address


# --- points: happy paths --------------------------------------------------------------------


def test_issue_with_reason_and_ref(w3: Web3, acme: Program, acme_admin: Sender) -> None:
    r = ledger.issue_points(
        sender=acme_admin,
        program=acme,
        member=BOB.address,
        amount=25,
        reason="purchase",
        ref="order-1001",
    )
    assert bal(w3, acme, BOB.address) == 25
    ev = contracts.points(w3, acme).events.PointsIssued().process_receipt(r.raw)[0]["args"]
    assert ev["amount"] == 25
    assert ev["reason"] == b"purchase".ljust(32, b"\0")
    assert ev["ref"] == b"order-1001".ljust(32, b"\0")
    long_ref = "https://shop.example/orders/2026/11/29/123456"
    r = ledger.issue_points(
        sender=acme_admin, program=acme, member=BOB.address, amount=1, ref=long_ref
    )
    ev = contracts.points(w3, acme).events.PointsIssued().process_receipt(r.raw)[0]["args"]
    assert ev["ref"] == ref_bytes(long_ref)  # keccak256 of a reference longer than 32 bytes


def test_issue_batch(
    w3: Web3, network: Deployment, operator: Sender, acme: Program, acme_admin: Sender
) -> None:
    ledger.register_member(sender=operator, deployment=network, member=CAROL.address)
    items = [
        BatchItem(BOB.address, 10, "a"),
        BatchItem(CAROL.address, 20, "b"),
        BatchItem(ALICE.address, 5, "c"),
    ]
    seen: list[int] = []
    receipts = ledger.issue_points_batch(
        sender=acme_admin,
        program=acme,
        items=items,
        reason="survey",
        chunk_size=2,
        progress=seen.append,
    )
    assert len(receipts) == 2 and seen == [2, 1]
    assert bal(w3, acme, BOB.address) == 10
    assert bal(w3, acme, CAROL.address) == 20
    assert bal(w3, acme, ALICE.address) == ALICE_START + 5


def test_redeem_transfer_gift_forfeit(
    w3: Web3, acme: Program, alice: Sender, bob: Sender, acme_admin: Sender
) -> None:
    ledger.redeem_points(sender=alice, program=acme, amount=10, ref="coffee")
    ledger.transfer_points(sender=alice, program=acme, to=BOB.address, amount=20)
    r = ledger.gift_points(
        sender=alice, program=acme, to=BOB.address, amount=5, memo="happy birthday"
    )
    ev = contracts.points(w3, acme).events.PointsGifted().process_receipt(r.raw)[0]["args"]
    assert ev["memo"] == "happy birthday"
    ledger.forfeit_points(
        sender=acme_admin, program=acme, member=BOB.address, amount=3, reason="expiry"
    )
    assert bal(w3, acme, ALICE.address) == ALICE_START - 35
    assert bal(w3, acme, BOB.address) == 22
    assert ledger.total_supply(w3=w3, program=acme) == ALICE_START - 13


def test_brand_roles(w3: Web3, acme: Program, acme_admin: Sender, bob: Sender) -> None:
    assert not ledger.has_role(w3=w3, program=acme, role="issuer", account=BOB.address)
    ledger.grant_role(sender=acme_admin, program=acme, role="issuer", account=BOB.address)
    ledger.issue_points(sender=bob, program=acme, member=ALICE.address, amount=1)
    ledger.revoke_role(sender=acme_admin, program=acme, role="issuer", account=BOB.address)
    with pytest.raises(Unauthorized):
        ledger.issue_points(sender=bob, program=acme, member=ALICE.address, amount=1)
    with pytest.raises(InvalidInput):
        ledger.grant_role(sender=acme_admin, program=acme, role="king", account=BOB.address)


def test_pause(w3: Web3, acme: Program, acme_admin: Sender, alice: Sender, unchanged) -> None:
    ledger.pause(sender=acme_admin, program=acme)
    assert ledger.is_paused(w3=w3, program=acme)
    with unchanged():
        with pytest.raises(Paused):
            ledger.issue_points(sender=acme_admin, program=acme, member=BOB.address, amount=1)
        with pytest.raises(Paused):
            ledger.transfer_points(sender=alice, program=acme, to=BOB.address, amount=1)
    ledger.unpause(sender=acme_admin, program=acme)
    ledger.transfer_points(sender=alice, program=acme, to=BOB.address, amount=1)


# --- points: rejected, nothing changes ------------------------------------------------------


def test_issue_to_unregistered_recipient(acme: Program, acme_admin: Sender, unchanged) -> None:
    with unchanged(), pytest.raises(NotAMember) as info:
        ledger.issue_points(sender=acme_admin, program=acme, member=CAROL.address, amount=5)
    assert info.value.account == CAROL.address


def test_zero_transfer_refused_by_client_accepted_by_contract(
    w3: Web3, acme: Program, alice: Sender, unchanged
) -> None:
    """A person transferring 0 is a mistake the client refuses; the contract, as EIP-20 requires,
    treats a transfer of 0 as a normal transfer: it succeeds, fires Transfer, moves nothing."""
    with unchanged(), pytest.raises(InvalidAmount):
        ledger.transfer_points(sender=alice, program=acme, to=BOB.address, amount=0)
    token = contracts.points(w3, acme)
    receipt = alice.transact(token.functions.transfer(BOB.address, 0))
    (event,) = token.events.Transfer().process_receipt(receipt.raw)
    assert (event["args"]["from"], event["args"]["to"], event["args"]["value"]) == (
        ALICE.address,
        BOB.address,
        0,
    )
    assert (bal(w3, acme, ALICE.address), bal(w3, acme, BOB.address)) == (ALICE_START, 0)
    with unchanged(), pytest.raises(NotAMember):  # the membership rule holds for 0 as well
        alice.transact(token.functions.transfer(CAROL.address, 0))


def test_transfer_to_unregistered_recipient(acme: Program, alice: Sender, unchanged) -> None:
    with unchanged(), pytest.raises(NotAMember):
        ledger.transfer_points(sender=alice, program=acme, to=CAROL.address, amount=5)
    with unchanged(), pytest.raises(NotAMember):
        ledger.gift_points(sender=alice, program=acme, to=CAROL.address, amount=5)


def test_frozen_recipient_and_sender(
    network: Deployment,
    operator: Sender,
    acme: Program,
    acme_admin: Sender,
    alice: Sender,
    unchanged,
) -> None:
    ledger.freeze_member(sender=operator, deployment=network, member=BOB.address)
    with unchanged():
        with pytest.raises(AccountFrozen) as info:
            ledger.issue_points(sender=acme_admin, program=acme, member=BOB.address, amount=5)
        assert info.value.account == BOB.address
        with pytest.raises(AccountFrozen):
            ledger.transfer_points(sender=alice, program=acme, to=BOB.address, amount=5)
    ledger.freeze_member(sender=operator, deployment=network, member=ALICE.address)
    with unchanged(), pytest.raises(AccountFrozen):
        ledger.redeem_points(sender=alice, program=acme, amount=1)


def test_wrong_brand_role(
    acme: Program, beta: Program, beta_admin: Sender, acme_admin: Sender, unchanged
) -> None:
    with unchanged():
        with pytest.raises(Unauthorized) as info:
            ledger.issue_points(sender=beta_admin, program=acme, member=ALICE.address, amount=5)
        assert info.value.account == beta_admin.address
        with pytest.raises(Unauthorized):
            ledger.forfeit_points(sender=beta_admin, program=acme, member=ALICE.address, amount=1)
        with pytest.raises(Unauthorized):
            ledger.pause(sender=beta_admin, program=acme)
        with pytest.raises(Unauthorized):
            ledger.issue_pass(sender=acme_admin, program=beta, member=ALICE.address)


def test_insufficient_points(
    acme: Program, alice: Sender, bob: Sender, acme_admin: Sender, unchanged
) -> None:
    with unchanged():
        with pytest.raises(InsufficientPoints) as info:
            ledger.redeem_points(sender=alice, program=acme, amount=ALICE_START + 1)
        assert (info.value.balance, info.value.needed) == (ALICE_START, ALICE_START + 1)
        with pytest.raises(InsufficientPoints):
            ledger.transfer_points(sender=bob, program=acme, to=ALICE.address, amount=1)
        with pytest.raises(InsufficientPoints):
            ledger.gift_points(sender=alice, program=acme, to=BOB.address, amount=10**6)
        with pytest.raises(InsufficientPoints):
            ledger.forfeit_points(sender=acme_admin, program=acme, member=BOB.address, amount=1)


@pytest.mark.parametrize("amount", [0, -1, -50, 1.5, 2.0, "10", True, None])
def test_bad_amounts(
    amount: object, acme: Program, acme_admin: Sender, alice: Sender, unchanged
) -> None:
    with unchanged():
        with pytest.raises(InvalidAmount):
            ledger.issue_points(
                sender=acme_admin, program=acme, member=ALICE.address, amount=amount
            )  # type: ignore[arg-type]
        with pytest.raises(InvalidAmount):
            ledger.redeem_points(sender=alice, program=acme, amount=amount)  # type: ignore[arg-type]
        with pytest.raises(InvalidAmount):
            ledger.transfer_points(sender=alice, program=acme, to=BOB.address, amount=amount)  # type: ignore[arg-type]
        with pytest.raises(InvalidAmount):
            ledger.issue_points_batch(
                sender=acme_admin,
                program=acme,
                items=[BatchItem(BOB.address, 1), BatchItem(ALICE.address, amount)],
            )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address",
    [
        "0x1234",
        "not-an-address",
        "",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79c8",  # bad checksum
        "70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0xG0997970C51812dc3A010C7d01b50e0d17dc79C8",
    ],
)
def test_bad_addresses(
    address: str,
    network: Deployment,
    operator: Sender,
    acme: Program,
    acme_admin: Sender,
    alice: Sender,
    unchanged,
) -> None:
    with unchanged():
        with pytest.raises(InvalidAddress):
            ledger.issue_points(sender=acme_admin, program=acme, member=address, amount=1)
        with pytest.raises(InvalidAddress):
            ledger.transfer_points(sender=alice, program=acme, to=address, amount=1)
        with pytest.raises(InvalidAddress):
            ledger.register_member(sender=operator, deployment=network, member=address)
        with pytest.raises(InvalidAddress):
            ledger.issue_pass(sender=acme_admin, program=acme, member=address)


def test_other_bad_input(acme: Program, acme_admin: Sender, alice: Sender, unchanged) -> None:
    with unchanged():
        with pytest.raises(InvalidInput):
            ledger.gift_points(sender=alice, program=acme, to=BOB.address, amount=1, memo="x" * 65)
        with pytest.raises(InvalidInput):
            ledger.issue_points(
                sender=acme_admin, program=acme, member=BOB.address, amount=1, reason=""
            )
        with pytest.raises(InvalidInput):
            ledger.issue_points(
                sender=acme_admin, program=acme, member=BOB.address, amount=1, reason="r" * 33
            )
        with pytest.raises(InvalidInput):
            ledger.issue_points_batch(sender=acme_admin, program=acme, items=[])


def test_batch_with_one_bad_member_sends_nothing(
    acme: Program, acme_admin: Sender, unchanged
) -> None:
    items = [BatchItem(BOB.address, 1), BatchItem(MALLORY.address, 1)]
    with unchanged(), pytest.raises(NotAMember):
        ledger.issue_points_batch(sender=acme_admin, program=acme, items=items)
