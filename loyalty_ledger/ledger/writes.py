"""Any chain write through the outbox: take the transaction a ledger operation would send,
pre-flight it, and queue it with the request's own rows in one SQL transaction.

`captured_call` runs an existing ledger operation (`register_member`, `set_tier`, `relay` …)
with a sender that records its transaction instead of sending it, so every validation of the
operation (addresses, tiers, expiry, consent checks) runs exactly as for a direct send.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from web3 import Web3
from web3.contract.contract import ContractFunction

from loyalty_ledger.chain.sender import Receipt, Sender
from loyalty_ledger.errors import IdempotencyConflict, LedgerError
from loyalty_ledger.ledger.outbox import enqueue_call
from loyalty_ledger.store import outbox as sql

Rows = Callable[[Connection, int], None]


class _Captured(Exception):
    def __init__(self, call: ContractFunction, value: int) -> None:
        super().__init__("captured")
        self.call, self.value = call, value


@dataclass(frozen=True)
class Call:
    """A transaction to queue: the contract call, the ether it carries, the key that signs."""

    sender: Sender
    fn: ContractFunction
    value: int = 0


def captured_call(sender: Sender, op: Callable[[Sender], object]) -> Call:
    """The transaction `op(sender)` would send (its checks run; nothing is sent)."""
    shadow = copy.copy(sender)

    def transact(call: ContractFunction, *, value: int = 0, **_kw: Any) -> Any:
        raise _Captured(call, value)

    shadow.transact = transact  # type: ignore[method-assign,assignment]
    try:
        op(shadow)
    except _Captured as got:
        return Call(sender, got.call, got.value)
    raise LedgerError("the operation sends no transaction")


@dataclass(frozen=True)
class Queued:
    intent_id: int
    replayed: bool  # the same request (idempotency key and transaction) was queued before


def queue(
    engine: Engine,
    call: Call,
    *,
    idem_key: str,
    rows: Rows | None = None,
    check: bool = True,
    before: Callable[[], None] | None = None,
) -> Queued:
    """Queue `call` under `idem_key` (with `rows(conn, intent_id)` in the same transaction).

    `check`: eth_call it first, so a write that would revert now is refused with its decoded
    reason (a 4xx) and nothing is written. The same key with the same transaction replays the
    first intent; with another one it is an IdempotencyConflict. `before` runs the request's
    own checks (a relayed signature, its nonce) when it is not such a replay.
    """
    data = str(call.fn._encode_transaction_data())
    earlier = _earlier(engine, idem_key, call, data)
    if earlier is not None:
        return earlier
    if before is not None:
        before()
    if check:
        call.sender.simulate(call.fn, value=call.value)
    try:
        with engine.begin() as conn:
            iid = enqueue_call(
                conn, sender=call.sender, call=call.fn, idem_key=idem_key, value=call.value
            )
            if rows is not None:
                rows(conn, iid)
    except IntegrityError:
        again = _earlier(engine, idem_key, call, data)
        if again is None:
            raise
        return again
    return Queued(iid, replayed=False)


def _earlier(engine: Engine, idem_key: str, call: Call, data: str) -> Queued | None:
    row = sql.by_keys(engine, [idem_key]).get(idem_key)
    if row is None:
        return None
    same = (row["signer"], row["to_address"].lower(), row["data"]) == (
        call.sender.address,
        str(call.fn.address).lower(),
        data,
    )
    if not same:
        raise IdempotencyConflict(f"{idem_key.split(':')[0]} key already used for another request")
    return Queued(int(row["id"]), replayed=True)


def receipt_of(w3: Web3, tx_hash: str) -> Receipt:
    """The receipt of a mined intent's transaction (with its logs)."""
    rcpt = w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    return Receipt(tx_hash, int(rcpt["blockNumber"]), int(rcpt["gasUsed"]), raw=rcpt)
