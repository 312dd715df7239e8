"""A customer's consent as EIP-712 data: what to sign, and checking what was signed.

The API gives a wallet the typed data of a ForwardRequest (OZ ERC2771Forwarder) or an ERC-2612
permit; the customer signs it; the API checks that the signed request is exactly the call it
expects (target contract, function, arguments, signer) and relays it. No hand-rolled scheme:
`gasless` builds, checks and relays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import TxParams

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.sender import Receipt, Sender, reverts_decoded
from loyalty_ledger.errors import InvalidInput, InvalidSignature
from loyalty_ledger.ledger import gasless
from loyalty_ledger.ledger.gasless import (
    FORWARD_REQUEST_TYPES,
    PERMIT_TYPES,
    ForwardRequest,
    Permit,
)
from loyalty_ledger.validate import checksum_address

DEFAULT_TTL = 900  # seconds a prepared request stays signable

EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _now(w3: Web3) -> int:
    return max(int(time.time()), int(w3.eth.get_block("latest")["timestamp"]))


def forward_typed_data(
    *, w3: Web3, deployment: Deployment, signer: str, call: ContractFunction, ttl: int = DEFAULT_TTL
) -> dict[str, Any]:
    """The EIP-712 typed data (eth_signTypedData_v4 shape) of a ForwardRequest for `call`.

    The inner call is simulated from `signer` first, so a redemption or gift that cannot
    succeed is refused with its real reason before the customer signs anything.
    """
    signer = checksum_address(signer)
    fwd = contracts.forwarder(w3, deployment)
    data = call._encode_transaction_data()
    inner: TxParams = {"from": signer, "to": call.address, "data": data}  # type: ignore[typeddict-item]
    with reverts_decoded(error_decoder()):
        gas = int(w3.eth.estimate_gas(inner) * gasless.GAS_HEADROOM)
    message = {
        "from": signer,
        "to": call.address,
        "value": 0,
        "gas": gas,
        "nonce": int(fwd.functions.nonces(signer).call()),
        "deadline": _now(w3) + ttl,
        "data": data,
    }
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **FORWARD_REQUEST_TYPES},
        "primaryType": "ForwardRequest",
        "domain": gasless.eip712_domain(fwd),
        "message": message,
    }


def permit_typed_data(
    *, w3: Web3, program: Program, owner: str, spender: str, value: int, ttl: int = DEFAULT_TTL
) -> dict[str, Any]:
    """The EIP-712 typed data of an ERC-2612 permit for `spender` to burn `value` points."""
    token = contracts.points(w3, program)
    owner = checksum_address(owner)
    message = {
        "owner": owner,
        "spender": checksum_address(spender),
        "value": value,
        "nonce": int(token.functions.nonces(owner).call()),
        "deadline": _now(w3) + ttl,
    }
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **PERMIT_TYPES},
        "primaryType": "Permit",
        "domain": gasless.eip712_domain(token),
        "message": message,
    }


def _hex_bytes(value: Any, what: str, length: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise InvalidInput(f"{what} must be 0x-prefixed hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise InvalidInput(f"{what} is not valid hex") from None
    if length is not None and len(raw) != length:
        raise InvalidInput(f"{what} must be {length} bytes")
    return raw


def _uint(value: Any, what: str, bits: int = 256) -> int:
    """A uint of a signed message: an int or its decimal text, within 0..2**bits-1."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 78:
        number = int(value)
    else:
        raise InvalidInput(f"{what} must be a whole number (an integer or decimal text)")
    if not 0 <= number < 2**bits:
        raise InvalidInput(f"{what} must be 0 to 2**{bits}-1")
    return number


def forward_request(message: dict[str, Any], signature: str) -> ForwardRequest:
    """A ForwardRequest from the signed typed-data message (JSON) and its signature."""
    try:
        return ForwardRequest(
            from_=checksum_address(message["from"]),
            to=checksum_address(message["to"]),
            value=_uint(message["value"], "value"),
            gas=_uint(message["gas"], "gas"),
            nonce=_uint(message["nonce"], "nonce"),
            deadline=_uint(message["deadline"], "deadline", 48),
            data=_hex_bytes(message["data"], "data"),
            signature=_hex_bytes(signature, "signature", 65),
        )
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"incomplete forward request: {exc}") from None


def permit(message: dict[str, Any], signature: str) -> Permit:
    """A Permit from the signed typed-data message (JSON) and its signature."""
    sig = _hex_bytes(signature, "signature", 65)
    v = sig[64] if sig[64] >= 27 else sig[64] + 27
    try:
        return Permit(
            owner=checksum_address(message["owner"]),
            spender=checksum_address(message["spender"]),
            value=_uint(message["value"], "value"),
            nonce=_uint(message["nonce"], "nonce"),
            deadline=_uint(message["deadline"], "deadline"),
            v=v,
            r=sig[:32],
            s=sig[32:64],
        )
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"incomplete permit: {exc}") from None


@dataclass(frozen=True)
class Expected:
    """What a signed forward request must be: signer, target contract, exact calldata."""

    signer: str
    to: str
    data: bytes | None = None  # exact calldata, or None to check `selectors` only
    selectors: tuple[bytes, ...] = ()


def expect_call(request: ForwardRequest, expected: Expected) -> None:
    """Refuse a signed request that is not the call the API was asked to relay."""
    if request.from_ != checksum_address(expected.signer):
        raise InvalidSignature(request.from_, expected.signer)
    if request.to != checksum_address(expected.to):
        raise InvalidInput(f"the request targets {request.to}, expected {expected.to}")
    if request.value != 0:
        raise InvalidInput("the request must not carry ether")
    if expected.data is not None and request.data != expected.data:
        raise InvalidInput("the signed call is not the expected one (function or arguments)")
    if expected.selectors and request.data[:4] not in expected.selectors:
        raise InvalidInput("the signed call is not an allowed function")


def selector(call: ContractFunction) -> bytes:
    return bytes.fromhex(call._encode_transaction_data()[2:10])


def check_forward(*, w3: Web3, deployment: Deployment, request: ForwardRequest) -> None:
    """The relay's checks alone (expiry, signer, nonce, the inner call); nothing is sent."""
    gasless.check_forward_request(w3=w3, deployment=deployment, request=request)


def check_permit(*, w3: Web3, program: Program, permit: Permit, spender: str) -> None:
    """A permit's checks alone (expiry, spender, nonce, signer); nothing is sent."""
    gasless.check_permit(w3=w3, program=program, permit=permit, spender=spender)


def relay(
    *, relayer: Sender, deployment: Deployment, request: ForwardRequest, checked: bool = False
) -> Receipt:
    """Check (expiry, nonce, signer, inner call; skipped when `checked` says `check_forward`
    just passed) and relay; raises the decoded reason."""
    return gasless.relay(relayer=relayer, deployment=deployment, request=request, checked=checked)
