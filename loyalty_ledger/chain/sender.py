"""Connecting to a node and sending signed transactions: local nonces, pre-flight, receipts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import Nonce, RPCEndpoint, TxParams, TxReceipt, Wei

from loyalty_ledger.chain.revert import ErrorDecoder
from loyalty_ledger.config import Settings
from loyalty_ledger.errors import (
    ContractRevert,
    KeyMisuse,
    LedgerError,
    NodeUnreachable,
    WrongChain,
)

Call = ContractFunction | TxParams
FEE_TTL = 1.0  # seconds a fee quote is reused


def connect(url: str, *, chain_id: int | None = None, timeout: float = 10.0) -> Web3:
    """A Web3 for `url`; NodeUnreachable when nothing answers, WrongChain on a chain mismatch."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
    try:
        actual = w3.eth.chain_id
    except (requests.RequestException, OSError, Web3RPCError, ValueError) as exc:
        raise NodeUnreachable(url, type(exc).__name__) from None
    if chain_id is not None and actual != chain_id:
        raise WrongChain(chain_id, actual)
    return w3


def connect_settings(settings: Settings) -> Web3:
    return connect(settings.rpc_url, chain_id=settings.chain_id, timeout=settings.rpc_timeout)


@contextmanager
def reverts_decoded(decoder: ErrorDecoder) -> Iterator[None]:
    """Turn web3's revert exceptions (and a dropped connection) into domain errors."""
    try:
        yield
    except ContractLogicError as exc:
        raise decoder.decode(exc.data if isinstance(exc.data, str | bytes) else None) from None
    except requests.ConnectionError as exc:
        raise NodeUnreachable(str(exc.request.url if exc.request else "node")) from None


@dataclass(frozen=True)
class Receipt:
    """A mined, successful transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    contract_address: str | None = None
    raw: TxReceipt | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tx_hash": self.tx_hash,
            "block_number": self.block_number,
            "gas_used": self.gas_used,
            "contract_address": self.contract_address,
        }


class Sender:
    """Signs and sends transactions for one account, keeping its nonce locally.

    Nonces come from the node once, then count up here, so many transactions can be sent
    before any is mined (`send` N times, then `wait` for each hash). Every transaction is
    pre-flighted (eth_estimateGas, or eth_call when the gas is given) so a revert is raised,
    decoded, before anything is sent.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount | str,
        *,
        decoder: ErrorDecoder | None = None,
        max_fee_per_gas: int | None = None,
        max_priority_fee_per_gas: int | None = None,
        gas_limit_multiplier: float = 1.2,
        confirmations: int = 0,
        receipt_timeout: float = 120.0,
    ) -> None:
        self.w3 = w3
        self.account: LocalAccount = (
            Account.from_key(account) if isinstance(account, str) else account
        )
        self.decoder = decoder or ErrorDecoder()
        self.max_fee_per_gas = max_fee_per_gas
        self.max_priority_fee_per_gas = max_priority_fee_per_gas
        self.gas_limit_multiplier = gas_limit_multiplier
        self.confirmations = confirmations
        self.receipt_timeout = receipt_timeout
        self._nonce: int | None = None
        self._chain_id: int | None = None
        self._fee_cache: tuple[float, dict[str, int]] | None = None
        self._lock = threading.Lock()
        self.name = "this"
        self._allowed: set[str] | None = None  # None: any target (the CLI's own --key)

    def allow(self, name: str, *targets: str) -> Sender:
        """Restrict this key to transactions to `targets` (cumulative; "" allows deploys)."""
        with self._lock:
            if self._allowed is None:
                self.name = name
            elif name not in self.name.split(", "):
                self.name = f"{self.name}, {name}"
            self._allowed = (self._allowed or set()) | {t.lower() for t in targets}
        return self

    def _check_target(self, to: object) -> None:
        if self._allowed is not None and str(to or "").lower() not in self._allowed:
            raise KeyMisuse(self.name, str(to or "a contract creation"))

    @classmethod
    def from_settings(
        cls, w3: Web3, account: LocalAccount | str, settings: Settings, decoder: ErrorDecoder
    ) -> Sender:
        return cls(
            w3,
            account,
            decoder=decoder,
            max_fee_per_gas=settings.max_fee_per_gas,
            max_priority_fee_per_gas=settings.max_priority_fee_per_gas,
            gas_limit_multiplier=settings.gas_limit_multiplier,
            confirmations=settings.confirmations,
            receipt_timeout=settings.receipt_timeout,
        )

    @property
    def address(self) -> ChecksumAddress:
        return self.account.address

    def reset_nonce(self) -> None:
        """Forget the local nonce (after an external send, a snapshot revert, a dropped tx)."""
        with self._lock:
            self._nonce = None

    # --- building -----------------------------------------------------------------------

    def _tx(self, call: Call, value: int) -> TxParams:
        if isinstance(call, ContractFunction):
            tx: TxParams = {"to": call.address, "data": call._encode_transaction_data()}
        else:
            tx = dict(call)  # type: ignore[assignment]
        self._check_target(tx.get("to"))
        tx["from"] = self.address
        if value:
            tx["value"] = Wei(value)
        return tx

    def simulate(self, call: Call, *, value: int = 0) -> bytes:
        """eth_call the transaction from this account; raises the decoded revert."""
        with reverts_decoded(self.decoder):
            return bytes(self.w3.eth.call(self._tx(call, value)))

    def _fees(self) -> dict[str, int]:
        """Fee fields, cached for FEE_TTL seconds so a pipelined burst costs no extra calls.

        The default max fee (2 x base fee + tip) stays valid through several blocks of base-fee
        growth (at most +12.5% a block), far longer than the cache lives.
        """
        now = time.monotonic()
        if self._fee_cache is None or now - self._fee_cache[0] > FEE_TTL:
            self._fee_cache = (now, self._fetch_fees())
        return self._fee_cache[1]

    def _fetch_fees(self) -> dict[str, int]:
        base = self.w3.eth.get_block("latest").get("baseFeePerGas")
        if base is None:  # pre-London chain: legacy gas price
            return {"gasPrice": self.max_fee_per_gas or self.w3.eth.gas_price}
        tip = self.max_priority_fee_per_gas
        if tip is None:
            tip = self.w3.eth.max_priority_fee
        max_fee = self.max_fee_per_gas if self.max_fee_per_gas is not None else 2 * base + tip
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": min(tip, max_fee)}

    def build(
        self, call: Call, *, value: int = 0, gas: int | None = None, simulate: bool = True
    ) -> TxParams:
        """Pre-flight (optional), estimate gas unless given, and add fees and the chain id."""
        tx = self._tx(call, value)
        if gas is None:
            # eth_estimateGas executes the call and reverts with the same data as eth_call, so
            # it is the pre-flight too: one round trip instead of two.
            with reverts_decoded(self.decoder):
                gas = int(self.w3.eth.estimate_gas(tx) * self.gas_limit_multiplier)
        elif simulate:
            self.simulate(call, value=value)
        tx["gas"] = gas
        tx.update(self._fees())  # type: ignore[typeddict-item]
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        tx["chainId"] = self._chain_id
        return tx

    # --- sending ------------------------------------------------------------------------

    def send(
        self, call: Call, *, value: int = 0, gas: int | None = None, simulate: bool = True
    ) -> HexBytes:
        """Sign and send; returns the tx hash without waiting for it to be mined."""
        tx = self.build(call, value=value, gas=gas, simulate=simulate)
        with self._lock:
            for attempt in (1, 2):
                if self._nonce is None:
                    self._nonce = self.w3.eth.get_transaction_count(self.address, "pending")
                tx["nonce"] = Nonce(self._nonce)
                signed = self.account.sign_transaction(tx)  # type: ignore[arg-type]
                try:
                    tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
                except Web3RPCError as exc:
                    self._nonce = None  # resync from the node: someone else used the key?
                    if attempt == 1 and "nonce" in str(exc).lower():
                        continue
                    raise LedgerError(f"node rejected the transaction: {exc}") from None
                self._nonce += 1
                return tx_hash
        raise AssertionError("unreachable")

    def wait(self, tx_hash: HexBytes | str) -> Receipt:
        """Wait for the receipt (and confirmations); a reverted tx raises its decoded error."""
        try:
            rcpt = self.w3.eth.wait_for_transaction_receipt(
                HexBytes(tx_hash), timeout=self.receipt_timeout, poll_latency=0.05
            )
        except TimeExhausted:
            raise LedgerError(f"transaction {HexBytes(tx_hash).hex()} not mined in time") from None
        return self._checked(rcpt)

    def wait_all(self, hashes: Sequence[HexBytes]) -> list[Receipt]:
        """Receipts of consecutive-nonce transactions from this account, fetched in batches.

        Once the last one is mined every earlier nonce is too, so one wait suffices and the
        rest are read in JSON-RPC batches (their `raw` is None; the last one's is set).
        """
        if not hashes:
            return []
        last = self.wait(hashes[-1])
        receipts: list[Receipt] = []
        for start in range(0, len(hashes) - 1, 200):
            chunk = hashes[start : min(start + 200, len(hashes) - 1)]
            replies = self.w3.provider.make_batch_request(  # type: ignore[attr-defined]
                [(RPCEndpoint("eth_getTransactionReceipt"), [h.to_0x_hex()]) for h in chunk]
            )
            if not isinstance(replies, list):
                raise LedgerError(f"node rejected the batch: {replies.get('error')}")
            for tx_hash, reply in zip(chunk, replies, strict=True):
                raw = reply.get("result")
                if raw is None:
                    raise LedgerError(f"no receipt for {tx_hash.to_0x_hex()}: {reply}")
                if int(raw["status"], 16) != 1:  # rare: decode it through the formatted path
                    receipts.append(self._checked(self.w3.eth.get_transaction_receipt(tx_hash)))
                    continue
                # Raw JSON, not web3's formatted receipt: formatting costs more than the RPC.
                address = raw.get("contractAddress")
                receipts.append(
                    Receipt(
                        tx_hash=raw["transactionHash"],
                        block_number=int(raw["blockNumber"], 16),
                        gas_used=int(raw["gasUsed"], 16),
                        contract_address=Web3.to_checksum_address(address) if address else None,
                    )
                )
        return [*receipts, last]

    def _checked(self, rcpt: TxReceipt) -> Receipt:
        """A Receipt after the status check and the configured confirmations."""
        if rcpt["status"] != 1:
            raise self._failure(rcpt)
        target = rcpt["blockNumber"] + self.confirmations
        while self.confirmations and self.w3.eth.block_number < target:
            time.sleep(0.2)
        address = rcpt.get("contractAddress")
        return Receipt(
            tx_hash="0x" + bytes(rcpt["transactionHash"]).hex(),
            block_number=rcpt["blockNumber"],
            gas_used=rcpt["gasUsed"],
            contract_address=str(address) if address else None,
            raw=rcpt,
        )

    def _failure(self, rcpt: TxReceipt) -> LedgerError:
        """Decode why a mined tx reverted by replaying it on the state before its block, then
        on its block (whose later timestamp is what fails a call made as an epoch ends)."""
        tx = self.w3.eth.get_transaction(rcpt["transactionHash"])
        replay: TxParams = {"from": tx["from"], "to": tx["to"], "data": tx["input"]}
        for block in (rcpt["blockNumber"] - 1, rcpt["blockNumber"]):
            try:
                with reverts_decoded(self.decoder):
                    self.w3.eth.call(replay, block)
            except LedgerError as err:
                return err
        return ContractRevert(f"tx {bytes(rcpt['transactionHash']).hex()} reverted on chain")

    def transact(
        self, call: Call, *, value: int = 0, gas: int | None = None, simulate: bool = True
    ) -> Receipt:
        """Send and wait."""
        return self.wait(self.send(call, value=value, gas=gas, simulate=simulate))

    def send_batch(self, calls: Sequence[Call], *, gas: int | None = None) -> list[HexBytes]:
        """Sign every call with consecutive nonces and submit them in one JSON-RPC batch.

        One HTTP round trip for the lot instead of one per transaction. Each call is
        pre-flighted by its gas estimate unless `gas` is given. If the node refuses one, the
        ones before it stay sent, the local nonce is resynced and a LedgerError says so.
        """
        gases = [gas] * len(calls) if gas is not None else self._estimate_batch(calls)
        txs = [self.build(c, gas=g, simulate=False) for c, g in zip(calls, gases, strict=True)]
        with self._lock:
            if self._nonce is None:
                self._nonce = self.w3.eth.get_transaction_count(self.address, "pending")
            raws = []
            for i, tx in enumerate(txs):
                tx["nonce"] = Nonce(self._nonce + i)
                signed = self.account.sign_transaction(tx)  # type: ignore[arg-type]
                raws.append(HexBytes(signed.raw_transaction).to_0x_hex())
            replies = self.w3.provider.make_batch_request(  # type: ignore[attr-defined]
                [(RPCEndpoint("eth_sendRawTransaction"), [raw]) for raw in raws]
            )
            if not isinstance(replies, list):  # the node refused the batch as a whole
                self._nonce = None
                raise LedgerError(f"node rejected the batch: {replies.get('error')}")
            hashes: list[HexBytes] = []
            for reply in replies:
                if "error" in reply:
                    self._nonce = None
                    raise LedgerError(
                        f"node rejected transaction {len(hashes) + 1} of {len(raws)} "
                        f"({len(hashes)} sent): {reply['error']}"
                    )
                hashes.append(HexBytes(reply["result"]))
            self._nonce += len(hashes)
            return hashes

    def _estimate_batch(self, calls: Sequence[Call]) -> list[int]:
        """Gas for every call in one JSON-RPC batch; the first revert is raised, decoded."""
        requests_ = [(RPCEndpoint("eth_estimateGas"), [_rpc_tx(self._tx(c, 0))]) for c in calls]
        replies = self.w3.provider.make_batch_request(requests_)  # type: ignore[attr-defined]
        if not isinstance(replies, list):
            raise LedgerError(f"node rejected the batch: {replies.get('error')}")
        gases = []
        for reply in replies:
            if "error" in reply:
                data = reply["error"].get("data")
                raise self.decoder.decode(data if isinstance(data, str) else None)
            gases.append(int(int(reply["result"], 16) * self.gas_limit_multiplier))
        return gases

    def send_all(
        self, calls: Iterable[Call], *, gas: int | None = None, chunk: int = 200
    ) -> list[Receipt]:
        """Pipelined: send every call in JSON-RPC batches, then collect all receipts."""
        pending = list(calls)
        hashes: list[HexBytes] = []
        for start in range(0, len(pending), chunk):
            hashes += self.send_batch(pending[start : start + chunk], gas=gas)
        return self.wait_all(hashes)

    def deploy(self, bytecode: str, abi: list[dict[str, Any]], *args: Any) -> Receipt:
        """Deploy a contract; the receipt carries its address."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        data = factory.constructor(*args).data_in_transaction
        return self.transact({"data": data})  # type: ignore[typeddict-item]


def _rpc_tx(tx: TxParams) -> dict[str, Any]:
    """A transaction as raw JSON-RPC params (hex quantities, hex data)."""
    out: dict[str, Any] = {}
    for key, value in tx.items():
        if isinstance(value, int):
            out[key] = hex(value)
        elif isinstance(value, bytes):
            out[key] = HexBytes(value).to_0x_hex()
        else:
            out[key] = value
    return out
