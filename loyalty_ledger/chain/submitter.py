"""The outbox submitter: the one process that signs and sends for a key (it holds the key's
lease), assigning nonces from its own record reconciled with the node.

It coalesces queued `issue` intents of one points contract and reason into `issueBatch`
transactions (at `batch_items` items, or once the oldest waited `batch_ms`), pre-flights each
(a batch that would revert is split until the bad item fails alone, with its decoded reason),
records the signed transaction before broadcasting it, and settles sent ones from the chain:
receipt by hash, nonce used by another transaction, dropped (re-sent), stuck (replaced with a
higher fee where the node has a fee market). The queue is duck-typed (`store.outbox.SqlOutbox`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import Nonce, RPCEndpoint, TxParams

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.revert import ErrorDecoder
from loyalty_ledger.chain.sender import Sender, reverts_decoded
from loyalty_ledger.errors import LedgerError, NodeUnreachable
from loyalty_ledger.validate import reason_bytes, ref_bytes

log = logging.getLogger(__name__)
ISSUE_BATCH_TYPES = ("address[]", "uint256[]", "bytes32", "bytes32[]")
ISSUE_BATCH = keccak(text=f"issueBatch({','.join(ISSUE_BATCH_TYPES)})")[:4]
FEE_BUMP = 1.25  # a replacement must pay at least 10% more (geth, anvil); 25% to be sure
# ERC2771Forwarder.execute((address,address,uint256,uint256,uint48,bytes,bytes))
EXECUTE_SELECTOR = "0xdf905caf"
MAX_MINED_REVERTS = 3  # an issue mined as a revert this often (though pre-flight passes) fails


class Queue(Protocol):
    signer: str

    def queued(self, limit: int = 2000) -> list[dict[str, Any]]: ...
    def max_nonce(self) -> int | None: ...
    def open_txs(self) -> list[dict[str, Any]]: ...
    def replaced_hashes(self, nonce: int) -> list[str]: ...
    def record_tx(self, tx: dict[str, Any], intent_ids: Sequence[int]) -> int: ...
    def replace_tx(self, old_id: int, tx: dict[str, Any]) -> int: ...
    def mined(self, tx_id: int, *, block: int, gas_used: int, tx_hash: str) -> None: ...
    def tx_reverted(
        self, tx_id: int, *, block: int, requeue_below: int = 0
    ) -> tuple[list[int], list[int]]: ...
    def tx_lost(self, tx_id: int) -> None: ...
    def fail(self, intent_ids: Sequence[int], code: str, message: str) -> None: ...


class Submitter:
    """Sends one key's queued intents in nonce order; call `start()` once, then `step()`."""

    def __init__(
        self,
        sender: Sender,
        queue: Queue,
        *,
        batch_items: int = 100,
        batch_ms: int = 50,
        stuck_seconds: float = 30.0,
        max_mined_reverts: int = MAX_MINED_REVERTS,
    ) -> None:
        self.sender, self.queue = sender, queue
        self.w3: Web3 = sender.w3
        self.account: LocalAccount = sender.account
        self.decoder: ErrorDecoder = sender.decoder
        self.batch_items, self.batch_ms, self.stuck_seconds = batch_items, batch_ms, stuck_seconds
        self.max_mined_reverts = max_mined_reverts
        self._nonce: int | None = None

    # --- the loop -----------------------------------------------------------------------

    def start(self) -> None:
        """Settle everything sent before (re-sending what the node lost), then take nonces."""
        self.reconcile(startup=True)
        self._sync_nonce()

    def _sync_nonce(self) -> None:
        pending = self.w3.eth.get_transaction_count(self.account.address, "pending")
        recorded = self.queue.max_nonce()
        self._nonce = max(pending, -1 if recorded is None else recorded + 1)
        self.sender._nonce = self._nonce

    def step(self) -> int:
        """One round: settle sent transactions, send what is ready. Returns how many moved."""
        moved = self.reconcile()
        moved += self.send_ready()
        return moved

    # --- sending ------------------------------------------------------------------------

    def send_ready(self) -> int:
        rows = self.queue.queued()
        now = time.time() * 1000
        units: list[tuple[int, str, list[dict[str, Any]]]] = []
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in rows:
            if r["kind"] == "call":
                units.append((r["id"], "call", [r]))
            elif r["attempts"]:  # its batch reverted once mined: alone, so it reverts alone
                units.append((r["id"], "issue", [r]))
            else:
                groups.setdefault((r["to_address"], r["reason"]), []).append(r)
        for items in groups.values():
            for start in range(0, len(items), self.batch_items):
                chunk = items[start : start + self.batch_items]
                full = len(chunk) >= self.batch_items
                if full or now - chunk[0]["created_at"] >= self.batch_ms:
                    units.append((chunk[0]["id"], "issue", chunk))
        sent = 0
        for _, kind, items in sorted(units, key=lambda u: u[0]):
            if kind == "call":
                sent += self._send_call(items[0])
            else:
                sent += self._send_issues(items)
        return sent

    def _issue_data(self, items: Sequence[dict[str, Any]]) -> str:
        """issueBatch's calldata, encoded by eth_abi directly (web3's contract call formatting
        costs ~10x more per item, and a batch is encoded once per pre-flight and send)."""
        args = (
            [i["member"] for i in items],
            [int(i["amount"]) for i in items],
            reason_bytes(items[0]["reason"]),
            [ref_bytes(i["ref"] or "") for i in items],
        )
        return "0x" + (ISSUE_BATCH + abi_encode(ISSUE_BATCH_TYPES, args)).hex()

    def _estimate(self, to: str, data: str, value: int = 0) -> int:
        """Gas with headroom; raises the decoded revert (a LedgerError)."""
        tx: TxParams = {"from": self.account.address, "to": to, "data": data}  # type: ignore[typeddict-item]
        if value:
            tx["value"] = value  # type: ignore[typeddict-item]
        with reverts_decoded(self.decoder):
            gas = self.w3.eth.estimate_gas(tx)
        return int(gas * self.sender.gas_limit_multiplier)

    def _send_issues(self, items: list[dict[str, Any]]) -> int:
        """Pre-flight the batch; if it would revert, find the bad items by splitting, fail
        each alone with its decoded reason, and send the good ones together."""
        to = items[0]["to_address"]
        try:
            gas = self._estimate(to, self._issue_data(items))
        except NodeUnreachable:
            raise  # the node, not the batch: everything stays queued for the next try
        except LedgerError:
            bad = self._bad_items(items)
            for item, err in bad:
                self.queue.fail([item["id"]], err.code, err.message)
            failed = {item["id"] for item, _ in bad}
            good = [i for i in items if i["id"] not in failed]
            if not failed:  # it failed as a whole but no part alone does: one at a time
                return sum(self._send_issues([i]) for i in good) if len(good) > 1 else 0
            return len(failed) + (self._send_issues(good) if good else 0)
        self._send(to, self._issue_data(items), 0, gas, "issue", [i["id"] for i in items])
        return len(items)

    def _bad_items(self, items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], LedgerError]]:
        try:
            self._estimate(items[0]["to_address"], self._issue_data(items))
            return []
        except NodeUnreachable:
            raise
        except LedgerError as err:
            if len(items) == 1:
                return [(items[0], err)]
        half = len(items) // 2
        return self._bad_items(items[:half]) + self._bad_items(items[half:])

    def _send_call(self, row: dict[str, Any]) -> int:
        try:
            gas = self._estimate(row["to_address"], row["data"], int(row["value"] or 0))
        except NodeUnreachable:
            raise
        except LedgerError as err:
            err = self._relayed_reason(row) or err
            self.queue.fail([row["id"]], err.code, err.message)
            return 1
        self._send(row["to_address"], row["data"], int(row["value"] or 0), gas, "call", [row["id"]])
        return 1

    def _relayed_reason(self, row: dict[str, Any]) -> LedgerError | None:
        """A relayed request (the forwarder's `execute`) fails as a whole: the inner call,
        made from its signer, says why (frozen, too few points …)."""
        if not str(row["data"]).startswith(EXECUTE_SELECTOR):
            return None
        fwd = contracts.at(self.w3, row["to_address"], "ERC2771Forwarder")
        try:
            _fn, args = fwd.decode_function_input(row["data"])
            req = args["request"]
            frm, to, data = (
                (req["from"], req["to"], req["data"])
                if isinstance(req, dict)
                else (req[0], req[1], req[5])
            )
            inner: TxParams = {"from": frm, "to": to, "data": HexBytes(data)}  # type: ignore[typeddict-item]
            with reverts_decoded(self.decoder):
                self.w3.eth.call(inner)
        except NodeUnreachable:
            raise
        except LedgerError as err:
            return err
        except (ValueError, KeyError, IndexError, TypeError):
            return None
        return None

    def _send(self, to: str, data: str, value: int, gas: int, kind: str, ids: list[int]) -> None:
        """Sign with the next nonce, record, broadcast: under the Sender's lock, so a process's
        own direct sends with the same key take their nonces from the same counter."""
        fees = self.sender._fees()
        with self.sender._lock:
            if self._nonce is None or self.sender._nonce is None:
                self._sync_nonce()
            else:
                self._nonce = max(self._nonce, self.sender._nonce)
            assert self._nonce is not None
            tx: dict[str, Any] = {
                "to": Web3.to_checksum_address(to),
                "data": data,
                "value": value,
                "gas": gas,
                "nonce": Nonce(self._nonce),
                "chainId": self._chain_id(),
                **fees,
            }
            signed = self.account.sign_transaction(tx)
            raw = HexBytes(signed.raw_transaction).to_0x_hex()
            record = {
                "nonce": self._nonce,
                "tx_hash": HexBytes(signed.hash).to_0x_hex(),
                "raw": raw,
                "kind": kind,
                "max_fee": fees.get("maxFeePerGas", fees.get("gasPrice")),
                "tip": fees.get("maxPriorityFeePerGas"),
            }
            self.queue.record_tx(record, ids)  # before the broadcast: a crash re-sends it
            self._nonce += 1
            self.sender._nonce = self._nonce
            self._broadcast(raw)

    def _chain_id(self) -> int:
        if self.sender._chain_id is None:
            self.sender._chain_id = self.w3.eth.chain_id
        return self.sender._chain_id

    def _broadcast(self, raw: str) -> None:
        try:
            self.w3.eth.send_raw_transaction(HexBytes(raw))
        except Web3RPCError as exc:
            text = str(exc).lower()
            if "already known" in text or "already imported" in text:
                return
            # Nonce too low (someone else used the key) or similar: reconciliation settles it.
            log.warning("node refused a transaction: %s", exc)
            self._nonce = self.sender._nonce = None

    # --- settling -----------------------------------------------------------------------

    def reconcile(self, *, startup: bool = False) -> int:
        """Settle every sent transaction from the chain; returns how many settled."""
        txs = self.queue.open_txs()
        if not txs:
            return 0
        latest = self.w3.eth.get_transaction_count(self.account.address, "latest")
        receipts = self._receipts([t["tx_hash"] for t in txs])
        settled = 0
        now = time.time() * 1000
        for tx, rcpt in zip(txs, receipts, strict=True):
            if rcpt is not None:
                settled += 1
                self._settle(tx, rcpt)
            elif tx["nonce"] < latest:
                settled += self._settle_used_nonce(tx)
            elif startup or now - tx["sent_at"] > self.stuck_seconds * 1000:
                self._unstick(tx)
        return settled

    def _settle_used_nonce(self, tx: dict[str, Any]) -> int:
        """A sent tx without a receipt whose nonce the chain used: mined after all (looked at
        again: a node may count the nonce before it serves the receipt), its replaced fee mined
        (`_mined_twin`), or lost (its intents queued again); never re-queued while it is in a
        block (a mined batch re-sent credits twice). 1 when settled, 0: the next round."""
        rcpt = self._receipts([tx["tx_hash"]])[0]
        if rcpt is not None:
            self._settle(tx, rcpt)
            return 1
        twin = self._mined_twin(tx)
        if twin is not None:  # the fee it replaced was mined: the same calls ran
            self._settle({**tx, "tx_hash": twin[0]}, twin[1])
            return 1
        if self._knows(tx["tx_hash"], in_block=True):  # mined, no receipt served yet: later
            return 0
        self.queue.tx_lost(tx["id"])  # its nonce went to another transaction
        log.warning("nonce %s went to another transaction; re-queued", tx["nonce"])
        return 1

    def _mined_twin(self, tx: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """The mined transaction this one replaced with a higher fee (`_unstick`: the same call
        at the same nonce), when that one, not the replacement, was mined; else None."""
        call = _call_of(tx["raw"])
        if call is None:
            return None
        for h in self.queue.replaced_hashes(tx["nonce"]):
            rcpt = self._receipts([h])[0] if h != tx["tx_hash"] else None
            if rcpt is None:
                continue
            mined = self.w3.eth.get_transaction(HexBytes(h))
            if (str(mined["to"]).lower(), HexBytes(mined["input"])) == call:
                return h, rcpt
        return None

    def _receipts(self, hashes: list[str]) -> list[dict[str, Any] | None]:
        out: list[dict[str, Any] | None] = []
        for start in range(0, len(hashes), 200):
            chunk = hashes[start : start + 200]
            replies = self.w3.provider.make_batch_request(  # type: ignore[attr-defined]
                [(RPCEndpoint("eth_getTransactionReceipt"), [h]) for h in chunk]
            )
            if not isinstance(replies, list):
                raise LedgerError(f"node rejected the batch: {replies.get('error')}")
            out += [r.get("result") for r in replies]
        return out

    def _settle(self, tx: dict[str, Any], rcpt: dict[str, Any]) -> None:
        block = int(rcpt["blockNumber"], 16)
        if int(rcpt["status"], 16) == 1:
            self.queue.mined(
                tx["id"], block=block, gas_used=int(rcpt["gasUsed"], 16), tx_hash=tx["tx_hash"]
            )
            return
        # A mined revert: the batch's issues go back to the queue, each to be sent alone, until
        # one has reverted MAX_MINED_REVERTS times; then it fails with the decoded reason.
        limit = self.max_mined_reverts if tx["kind"] == "issue" else 0
        _again, left = self.queue.tx_reverted(tx["id"], block=block, requeue_below=limit)
        if left:
            err = self.sender._failure(self.w3.eth.get_transaction_receipt(tx["tx_hash"]))
            times = f" (reverted on chain {limit} times)" if limit else ""
            self.queue.fail(left, err.code, err.message + times)

    def _unstick(self, tx: dict[str, Any]) -> None:
        """Re-send a transaction the node lost; replace one stuck with a higher fee."""
        known = self.w3.eth.get_transaction(tx["tx_hash"]) if self._knows(tx["tx_hash"]) else None
        if known is None:
            log.info("re-sending dropped tx %s (nonce %s)", tx["tx_hash"], tx["nonce"])
            self._broadcast(tx["raw"])
            return
        if tx["tip"] is None or not tx["max_fee"]:
            return  # no fee market: wait
        bumped = {
            "to": known["to"],
            "data": HexBytes(known["input"]).to_0x_hex(),
            "value": known["value"],
            "gas": known["gas"],
            "nonce": tx["nonce"],
            "chainId": self._chain_id(),
            "maxFeePerGas": int(tx["max_fee"] * FEE_BUMP) + 1,
            "maxPriorityFeePerGas": int(tx["tip"] * FEE_BUMP) + 1,
        }
        signed = self.account.sign_transaction(bumped)
        raw = HexBytes(signed.raw_transaction).to_0x_hex()
        record = {
            "nonce": tx["nonce"],
            "tx_hash": HexBytes(signed.hash).to_0x_hex(),
            "raw": raw,
            "kind": tx["kind"],
            "max_fee": bumped["maxFeePerGas"],
            "tip": bumped["maxPriorityFeePerGas"],
        }
        self.queue.replace_tx(tx["id"], record)
        log.info("replacing stuck tx %s (nonce %s) with a higher fee", tx["tx_hash"], tx["nonce"])
        self._broadcast(raw)

    def _knows(self, tx_hash: str, *, in_block: bool = False) -> bool:
        """The node has the transaction (`in_block`: in a block)."""
        reply = self.w3.provider.make_request(  # type: ignore[attr-defined]
            RPCEndpoint("eth_getTransactionByHash"), [tx_hash]
        )
        found = reply.get("result")
        return found is not None and (not in_block or found.get("blockNumber") is not None)


def _call_of(raw: str) -> tuple[str, HexBytes] | None:
    """A fee-market transaction's recipient (lower case) and calldata; None for a legacy one
    (never replaced: `_unstick` bumps fee-market transactions only)."""
    data = HexBytes(raw)
    if not data or data[0] >= 0xC0:
        return None
    fields = TypedTransaction.from_bytes(data).as_dict()
    return HexBytes(fields["to"]).to_0x_hex().lower(), HexBytes(fields["data"])
