"""The anvil launcher, connecting, and the Sender (nonces, pipelining, decoded reverts)."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.anvil import Anvil, free_port, rpc_chain_id
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.errors import NodeUnreachable, NotAMember, WrongChain

from .conftest import ACME_ADMIN, ALICE, BOB


def test_anvil_starts_on_a_free_port_and_stops_its_process_group() -> None:
    with Anvil(port=0, chain_id=4242) as node:
        assert not node.reused
        assert node.process is not None
        pid = node.process.pid
        assert rpc_chain_id(node.url) == 4242
        # Reusing a node that answers at the URL leaves it running.
        with Anvil(url=node.url) as again:
            assert again.reused
        assert rpc_chain_id(node.url) == 4242
    assert rpc_chain_id(node.url) is None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_node_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NodeUnreachable, match=url):
        connect(url, timeout=1)


@pytest.mark.chain
def test_wrong_chain_id(anvil_node: Anvil) -> None:
    with pytest.raises(WrongChain):
        connect(anvil_node.url, chain_id=1)
    assert connect(anvil_node.url, chain_id=31337).eth.chain_id == 31337


@pytest.mark.chain
def test_pipelined_sends_use_consecutive_nonces(
    w3: Web3, network, acme_admin: Sender, unchanged
) -> None:
    """Many txs sent before any is mined (automine off), then every receipt collected."""
    program = network.program("acme")
    token = contracts.points(w3, program)
    start_nonce = w3.eth.get_transaction_count(ACME_ADMIN.address)
    n = 25
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        hashes = [
            acme_admin.send(
                token.functions.issue(BOB.address, i + 1, b"visit".ljust(32, b"\0"), b"\0" * 32)
            )
            for i in range(n)
        ]
        assert w3.eth.get_transaction_count(ACME_ADMIN.address) == start_nonce  # none mined yet
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    receipts = [acme_admin.wait(h) for h in hashes]
    assert len({r.tx_hash for r in receipts}) == n
    nonces = [w3.eth.get_transaction(h)["nonce"] for h in hashes]
    assert nonces == list(range(start_nonce, start_nonce + n))
    assert len({r.block_number for r in receipts}) == 1  # all in the one mined block
    assert ledger.balance_of(w3=w3, program=program, member=BOB.address) == n * (n + 1) // 2


@pytest.mark.chain
def test_send_all_and_nonce_resync(w3: Web3, network, acme_admin: Sender) -> None:
    program = network.program("acme")
    token = contracts.points(w3, program)
    calls = [
        token.functions.issue(ALICE.address, 1, b"visit".ljust(32, b"\0"), b"\0" * 32)
        for _ in range(10)
    ]
    receipts = acme_admin.send_all(calls)
    assert len(receipts) == 10
    # Another Sender for the same key moves the nonce on; ours resyncs after the node refuses.
    other = Sender(w3, ACME_ADMIN, decoder=acme_admin.decoder)
    other.transact(calls[0])
    acme_admin.transact(calls[0])
    assert ledger.balance_of(w3=w3, program=program, member=ALICE.address) == 112


@pytest.mark.chain
def test_preflight_revert_sends_nothing(w3: Web3, network, acme_admin: Sender, unchanged) -> None:
    token = contracts.points(w3, network.program("acme"))
    call = token.functions.issue(
        "0x000000000000000000000000000000000000dEaD", 5, b"visit".ljust(32, b"\0"), b"\0" * 32
    )
    with unchanged(), pytest.raises(NotAMember) as info:
        acme_admin.transact(call)
    assert info.value.account == "0x000000000000000000000000000000000000dEaD"


@pytest.mark.chain
def test_batch_with_one_bad_call_sends_nothing(
    w3: Web3, network, acme_admin: Sender, unchanged
) -> None:
    """send_all pre-flights the whole batch (batched gas estimates) before sending any."""
    token = contracts.points(w3, network.program("acme"))
    visit, no_ref = b"visit".ljust(32, b"\0"), b"\0" * 32
    calls = [token.functions.issue(ALICE.address, 1, visit, no_ref) for _ in range(5)]
    calls.insert(
        3, token.functions.issue("0x000000000000000000000000000000000000dEaD", 1, visit, no_ref)
    )
    with unchanged(), pytest.raises(NotAMember):
        acme_admin.send_all(calls)


@pytest.mark.chain
def test_mined_revert_is_decoded(w3: Web3, network, acme_admin: Sender) -> None:
    """A tx that reverts on chain (no pre-flight, fixed gas) raises its decoded error."""
    token = contracts.points(w3, network.program("acme"))
    call = token.functions.issue(
        "0x000000000000000000000000000000000000dEaD", 5, b"visit".ljust(32, b"\0"), b"\0" * 32
    )
    with pytest.raises(NotAMember):
        acme_admin.transact(call, gas=200_000, simulate=False)


def test_anvil_that_cannot_start_is_reported() -> None:
    with socket.socket() as busy:  # something that is not an RPC node holds the port
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(NodeUnreachable, match="anvil exited"):
            Anvil(port=port, startup_timeout=10).start()


@pytest.mark.chain
def test_configured_fees_and_confirmations(w3: Web3, network, acme_admin: Sender) -> None:
    sender = Sender(
        w3,
        ACME_ADMIN,
        decoder=acme_admin.decoder,
        max_fee_per_gas=50 * 10**9,
        max_priority_fee_per_gas=2 * 10**9,
        gas_limit_multiplier=1.5,
        confirmations=2,
    )
    token = contracts.points(w3, network.program("acme"))
    call = token.functions.issue(BOB.address, 1, b"visit".ljust(32, b"\0"), b"\0" * 32)
    estimate = w3.eth.estimate_gas(
        {"from": ACME_ADMIN.address, "to": token.address, "data": call._encode_transaction_data()}
    )
    miner = threading.Timer(
        0.3, lambda: [w3.provider.make_request("evm_mine", []) for _ in range(2)]
    )
    miner.start()
    receipt = sender.transact(call)
    miner.join()
    assert w3.eth.block_number >= receipt.block_number + 2  # waited for two confirmations
    tx = w3.eth.get_transaction(receipt.tx_hash)
    assert tx["maxFeePerGas"] == 50 * 10**9 and tx["maxPriorityFeePerGas"] == 2 * 10**9
    assert tx["gas"] == int(estimate * 1.5)
