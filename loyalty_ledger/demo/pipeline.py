"""Fast chain writes for seeding: JSON-RPC batches of pre-signed transactions, and relayed
(gasless) member requests signed in bulk.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.ledger import gasless

ONE_PER_BLOCK = 15_500_000
ZERO = "0x0000000000000000000000000000000000000000"
BURST = 200  # signed transactions per JSON-RPC batch


def _rpc_batch(url: str, method: str, params: list[list[Any]]) -> list[Any]:
    """One JSON-RPC batch over HTTP (web3 does not batch eth_sendRawTransaction)."""
    body = [
        {"jsonrpc": "2.0", "id": n, "method": method, "params": p} for n, p in enumerate(params)
    ]
    answers = requests.post(url, json=body, timeout=120).json()
    if isinstance(answers, dict):
        raise LedgerError(f"node rejected a batch: {answers.get('error')}")
    by_id = {a["id"]: a for a in answers}
    out = []
    for n in range(len(params)):
        a = by_id[n]
        if "error" in a:
            raise LedgerError(f"node rejected a demo transaction: {a['error'].get('message')}")
        out.append(a["result"])
    return out


def send_pipelined(sender: Sender, calls: list[tuple[Any, int]]) -> list[dict[str, Any]]:
    """Send many calls fast: sign locally with consecutive nonces and a fixed gas limit, send
    them in JSON-RPC batches, then read the receipts in batches (a revert raises)."""
    if not calls:
        return []
    w3 = sender.w3
    url = str(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    chain_id = w3.eth.chain_id
    base = int(w3.eth.get_block("latest").get("baseFeePerGas") or 0)
    fees = {"maxFeePerGas": 4 * base + 10**9, "maxPriorityFeePerGas": 10**9}
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    raw = []
    for n, (call, gas) in enumerate(calls):
        tx: dict[str, Any] = {
            "to": call.address,
            "data": call._encode_transaction_data(),
            "value": 0,
            # Above half a block, so each block holds one of them: full blocks would raise the
            # base fee 12.5% a block and strand the tail of the burst (below the 2**24 cap).
            "gas": max(gas, ONE_PER_BLOCK),
            "nonce": nonce + n,
            "chainId": chain_id,
            **fees,
        }
        raw.append("0x" + bytes(sender.account.sign_transaction(tx).raw_transaction).hex())
    hashes: list[str] = []
    try:
        # One request per transaction, in nonce order: a node may handle the parts of a
        # JSON-RPC batch concurrently, and a nonce seen out of order can strand the rest.
        for r in raw:
            hashes += _rpc_batch(url, "eth_sendRawTransaction", [[r]])
    finally:
        sender.reset_nonce()  # the sender's own counter did not see these
    got: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 120
    next_nonce, progress_at, seen = nonce + len(raw), time.monotonic(), 0
    while len(got) < len(hashes):
        pending = [h for h in hashes if h not in got]
        for start in range(0, len(pending), BURST):
            chunk = pending[start : start + BURST]
            for h, rc in zip(
                chunk,
                _rpc_batch(url, "eth_getTransactionReceipt", [[h] for h in chunk]),
                strict=True,
            ):
                if rc is None:
                    continue
                if int(rc["status"], 16) != 1:
                    sender.wait(h)  # decodes and raises the revert reason
                got[h] = rc
        if len(got) < len(hashes):
            if time.monotonic() > deadline:
                raise LedgerError(f"{len(hashes) - len(got)} demo transactions not mined in time")
            if len(got) > seen:
                seen, progress_at = len(got), time.monotonic()
            elif time.monotonic() - progress_at > 0.5:
                # An auto-mining node mines when a transaction arrives and packs blocks by gas
                # limit, so a burst can leave a tail in the pool: a 0-value self-transfer (plain
                # eth_sendRawTransaction) makes it mine again.
                nudge: dict[str, Any] = {
                    "to": sender.address,
                    "value": 0,
                    "gas": 21_000,
                    "nonce": next_nonce,
                    "chainId": chain_id,
                    **fees,
                }
                signed = sender.account.sign_transaction(nudge).raw_transaction
                _rpc_batch(url, "eth_sendRawTransaction", [["0x" + bytes(signed).hex()]])
                next_nonce += 1
                progress_at = time.monotonic()
            time.sleep(0.05)
    sender.reset_nonce()
    return [got[h] for h in hashes]


class Forwarded:
    """Requests signed (EIP-712) by members or the brand, submitted through the network's
    ERC2771Forwarder with executeBatch: many actions per transaction (atomic: no refund
    receiver, so one failing request reverts its batch and the demo stops)."""

    def __init__(self, w3: Web3, dep: Deployment, relayer: Sender) -> None:
        self.fwd = contracts.forwarder(w3, dep)
        self.domain = gasless.eip712_domain(self.fwd)
        self.deadline = int(w3.eth.get_block("latest")["timestamp"]) + 7200
        self.relayer = relayer
        self.nonces: dict[str, int] = defaultdict(int)  # a fresh network: every nonce is 0
        self.queue: list[gasless.ForwardRequest] = []

    def add(self, signer: LocalAccount, call: Any, gas: int) -> None:
        req = gasless.ForwardRequest(
            from_=signer.address,
            to=call.address,
            value=0,
            gas=gas,
            nonce=self.nonces[signer.address],
            deadline=self.deadline,
            data=bytes.fromhex(call._encode_transaction_data()[2:]),
            signature=b"",
        )
        self.nonces[signer.address] += 1
        sig = signer.sign_typed_data(self.domain, gasless.FORWARD_REQUEST_TYPES, req.message())
        self.queue.append(dataclasses.replace(req, signature=bytes(sig.signature)))

    def flush(self, gas_per_tx: int = 12_000_000) -> None:
        calls: list[tuple[Any, int]] = []
        part: list[gasless.ForwardRequest] = []
        for req in [*self.queue, None]:
            full = req is not None and sum(r.gas for r in part) + req.gas > gas_per_tx
            if part and (req is None or full):
                fn = self.fwd.functions.executeBatch([r.as_struct() for r in part], ZERO)
                calls.append(
                    (fn, sum(r.gas for r in part) * 11 // 10 + 50_000 + 15_000 * len(part))
                )
                part = []
            if req is not None:
                part.append(req)
        self.queue = []
        send_pipelined(self.relayer, calls)
