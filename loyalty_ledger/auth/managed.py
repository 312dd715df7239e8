"""Acting with a managed key: the server signs the member's EIP-712 forward request (only
inside a request authenticated as them) and queues its relay in the outbox, paid by the
relayer key. One request per member in flight: the forwarder's nonce is the idempotency key.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from web3 import Web3
from web3.contract.contract import ContractFunction

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.sender import Receipt, Sender
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.ledger import consent
from loyalty_ledger.ledger.gasless import ForwardRequest
from loyalty_ledger.ledger.outbox import enqueue_call


class RequestInFlight(LedgerError):
    """The member's previous signed request is still being sent (HTTP 409)."""

    code = "request_in_flight"


def sign_typed(acct: LocalAccount, typed: dict[str, Any]) -> str:
    """Sign eth_signTypedData_v4 JSON (what a wallet is shown) with a managed key; 0x-hex."""
    types = {k: v for k, v in typed["types"].items() if k != "EIP712Domain"}
    message = dict(typed["message"])
    for f in types[typed["primaryType"]]:
        if f["type"] == "bytes" and isinstance(message[f["name"]], str):
            message[f["name"]] = bytes.fromhex(message[f["name"]][2:])
    signed = acct.sign_typed_data(typed["domain"], types, message)
    return "0x" + bytes(signed.signature).hex()


def signed_forward(
    *, w3: Web3, deployment: Deployment, acct: LocalAccount, call: ContractFunction
) -> tuple[dict[str, Any], str]:
    """The typed-data message of `call` as a forward request, and the member's signature
    (the call is simulated from the member first: a gift that cannot succeed is refused)."""
    typed = consent.forward_typed_data(w3=w3, deployment=deployment, signer=acct.address, call=call)
    return typed["message"], sign_typed(acct, typed)


def queue_forward(
    *, engine: Engine, relayer: Sender, deployment: Deployment, request: ForwardRequest
) -> int:
    """Queue the relay of a signed request; RequestInFlight when one with its nonce waits."""
    fwd = contracts.forwarder(relayer.w3, deployment)
    call = fwd.functions.execute(request.as_struct())
    try:
        with engine.begin() as conn:
            return enqueue_call(
                conn, sender=relayer, call=call, idem_key=f"fwd:{request.from_}:{request.nonce}"
            )
    except IntegrityError:
        raise RequestInFlight(
            "your previous request is still being sent; try again in a moment"
        ) from None


def relay_now(*, relayer: Sender, deployment: Deployment, request: ForwardRequest) -> Receipt:
    """Without the outbox: relay in the request (as the SIWE wallet's gifts are)."""
    return consent.relay(relayer=relayer, deployment=deployment, request=request)
