"""Gasless actions: EIP-712 ForwardRequests through the forwarder, and ERC-2612 permits."""

from __future__ import annotations

import dataclasses

import pytest
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import InsufficientPoints, InvalidSignature, NotAMember, SignatureExpired
from loyalty_ledger.ledger import gasless

from .conftest import ACME_ADMIN, ALICE, ALICE_START, BOB, CAROL, MALLORY, RELAYER

pytestmark = pytest.mark.chain


def now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def bal(w3: Web3, program: Program, who: str) -> int:
    return ledger.balance_of(w3=w3, program=program, member=who)


# --- forwarder ------------------------------------------------------------------------------


def test_relayed_gift_transfer_redeem(
    w3: Web3, network: Deployment, acme: Program, relayer: Sender
) -> None:
    """Alice holds no role and pays no gas: she signs, the relayer pays."""
    alice_eth = w3.eth.get_balance(ALICE.address)
    r = gasless.relay_call(
        relayer=relayer,
        deployment=network,
        signer=ALICE,
        call=ledger.gift_call(w3=w3, program=acme, to=BOB.address, amount=7, memo="thanks"),
    )
    ev = contracts.points(w3, acme).events.PointsGifted().process_receipt(r.raw)
    assert ev[0]["args"]["from"] == ALICE.address  # _msgSender is the signer, not the relayer
    gasless.relay_call(
        relayer=relayer,
        deployment=network,
        signer=ALICE,
        call=ledger.transfer_call(w3=w3, program=acme, to=BOB.address, amount=3),
    )
    gasless.relay_call(
        relayer=relayer,
        deployment=network,
        signer=ALICE,
        call=ledger.redeem_call(w3=w3, program=acme, amount=10, ref="tee"),
    )
    assert bal(w3, acme, ALICE.address) == ALICE_START - 20
    assert bal(w3, acme, BOB.address) == 10
    assert w3.eth.get_balance(ALICE.address) == alice_eth
    assert w3.eth.get_transaction(r.tx_hash)["from"] == RELAYER.address


def test_expired_request(
    w3: Web3, network: Deployment, acme: Program, relayer: Sender, unchanged
) -> None:
    call = ledger.gift_call(w3=w3, program=acme, to=BOB.address, amount=1)
    req = gasless.sign_forward_request(
        w3=w3, deployment=network, signer=ALICE, call=call, deadline=now(w3) - 1
    )
    with unchanged():
        with pytest.raises(SignatureExpired):
            gasless.relay(relayer=relayer, deployment=network, request=req)
        # Sent straight to the forwarder, the contract's own error decodes the same way.
        fwd = contracts.forwarder(w3, network)
        with pytest.raises(SignatureExpired):
            relayer.transact(fwd.functions.execute(req.as_struct()))


def test_replayed_request(
    w3: Web3, network: Deployment, acme: Program, relayer: Sender, unchanged
) -> None:
    call = ledger.gift_call(w3=w3, program=acme, to=BOB.address, amount=1)
    req = gasless.sign_forward_request(w3=w3, deployment=network, signer=ALICE, call=call)
    gasless.relay(relayer=relayer, deployment=network, request=req)
    with unchanged():
        with pytest.raises(InvalidSignature):
            gasless.relay(relayer=relayer, deployment=network, request=req)
        fwd = contracts.forwarder(w3, network)
        with pytest.raises(InvalidSignature):
            relayer.transact(fwd.functions.execute(req.as_struct()))
    assert bal(w3, acme, BOB.address) == 1


def test_wrong_signer(
    w3: Web3, network: Deployment, acme: Program, relayer: Sender, unchanged
) -> None:
    """Mallory signs a request that claims to come from Alice."""
    call = ledger.gift_call(w3=w3, program=acme, to=MALLORY.address, amount=50)
    req = gasless.sign_forward_request(
        w3=w3, deployment=network, signer=MALLORY, call=call, gas=200_000
    )
    forged = dataclasses.replace(req, from_=ALICE.address)
    with unchanged(), pytest.raises(InvalidSignature) as info:
        gasless.relay(relayer=relayer, deployment=network, request=forged)
    assert info.value.expected == ALICE.address and info.value.signer != ALICE.address


def test_inner_revert_reason_is_decoded(
    w3: Web3, network: Deployment, acme: Program, relayer: Sender, unchanged
) -> None:
    """execute() hides why the inner call failed; the pre-flight from the member does not."""
    with unchanged():
        with pytest.raises(InsufficientPoints):
            gasless.relay_call(
                relayer=relayer,
                deployment=network,
                signer=ALICE,
                call=ledger.gift_call(w3=w3, program=acme, to=BOB.address, amount=ALICE_START + 1),
            )
        with pytest.raises(NotAMember):
            gasless.relay_call(
                relayer=relayer,
                deployment=network,
                signer=ALICE,
                call=ledger.transfer_call(w3=w3, program=acme, to=CAROL.address, amount=1),
            )
        # A request signed for a fixed gas value skips the estimate: check() still decodes.
        call = ledger.transfer_call(w3=w3, program=acme, to=CAROL.address, amount=1)
        req = gasless.sign_forward_request(
            w3=w3, deployment=network, signer=ALICE, call=call, gas=100_000
        )
        with pytest.raises(NotAMember):
            gasless.relay(relayer=relayer, deployment=network, request=req)


# --- ERC-2612 permit ------------------------------------------------------------------------


def test_redeem_with_permit(w3: Web3, acme: Program, acme_admin: Sender) -> None:
    permit = gasless.sign_permit(
        w3=w3, program=acme, owner=ALICE, spender=ACME_ADMIN.address, value=30
    )
    ledger.redeem_with_permit(sender=acme_admin, program=acme, permit=permit, ref="order-9")
    assert bal(w3, acme, ALICE.address) == ALICE_START - 30


def test_permit_expired(w3: Web3, acme: Program, acme_admin: Sender, unchanged) -> None:
    permit = gasless.sign_permit(
        w3=w3, program=acme, owner=ALICE, spender=ACME_ADMIN.address, value=30, deadline=now(w3) - 1
    )
    with unchanged(), pytest.raises(SignatureExpired):
        ledger.redeem_with_permit(sender=acme_admin, program=acme, permit=permit)
    token = contracts.points(w3, acme)  # the contract agrees (decoded on-chain error)
    call = token.functions.redeemWithPermit(
        ALICE.address, 30, b"\0" * 32, permit.deadline, permit.v, permit.r, permit.s
    )
    with unchanged(), pytest.raises(SignatureExpired):
        acme_admin.transact(call)


def test_permit_replayed(w3: Web3, acme: Program, acme_admin: Sender, unchanged) -> None:
    permit = gasless.sign_permit(
        w3=w3, program=acme, owner=ALICE, spender=ACME_ADMIN.address, value=10
    )
    ledger.redeem_with_permit(sender=acme_admin, program=acme, permit=permit)
    with unchanged(), pytest.raises(InvalidSignature):
        ledger.redeem_with_permit(sender=acme_admin, program=acme, permit=permit)
    assert bal(w3, acme, ALICE.address) == ALICE_START - 10


def test_permit_wrong_signer_or_spender(
    w3: Web3, acme: Program, acme_admin: Sender, beta_admin: Sender, unchanged
) -> None:
    permit = gasless.sign_permit(
        w3=w3, program=acme, owner=MALLORY, spender=ACME_ADMIN.address, value=10
    )
    forged = dataclasses.replace(permit, owner=ALICE.address)
    with unchanged():
        with pytest.raises(InvalidSignature):
            ledger.redeem_with_permit(sender=acme_admin, program=acme, permit=forged)
        good = gasless.sign_permit(
            w3=w3, program=acme, owner=ALICE, spender=ACME_ADMIN.address, value=10
        )
        with pytest.raises(InvalidSignature):  # signed for another spender
            ledger.redeem_with_permit(sender=beta_admin, program=acme, permit=good)
