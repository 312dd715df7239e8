"""Gasless actions: EIP-712 ForwardRequests for OZ's ERC2771Forwarder, and ERC-2612 permits.

A customer signs; a relayer (the brand or the operator) submits and pays the gas. Signing uses
eth-account's typed-data signing. Every request is checked (expiry, nonce, signer) and the inner
call simulated from the customer before anything is sent, because the forwarder's `execute`
hides the inner revert reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxParams, Wei

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.sender import Receipt, Sender, reverts_decoded
from loyalty_ledger.errors import InvalidSignature, SignatureExpired, Unauthorized
from loyalty_ledger.ledger import exchange
from loyalty_ledger.validate import checksum_address, positive_amount

DEFAULT_TTL = 3600  # seconds a signature stays valid unless a deadline is given
GAS_HEADROOM = 1.25  # on top of the inner call's estimate: the forwarder needs its gas in full

FORWARD_REQUEST_TYPES = {
    "ForwardRequest": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "gas", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint48"},
        {"name": "data", "type": "bytes"},
    ]
}
# ERC-2771's `isTrustedForwarder`, which every relay target (points, pass, exchange) has.
TRUSTS_FORWARDER_ABI = [
    {
        "type": "function",
        "name": "isTrustedForwarder",
        "stateMutability": "view",
        "inputs": [{"name": "forwarder", "type": "address"}],
        "outputs": [{"name": "", "type": "bool"}],
    }
]
PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class ForwardRequest:
    """A signed ERC2771Forwarder request (the nonce is part of the signed message)."""

    from_: str
    to: str
    value: int
    gas: int
    nonce: int
    deadline: int
    data: bytes
    signature: bytes

    def as_struct(self) -> tuple[Any, ...]:
        """The forwarder's ForwardRequestData tuple (no nonce: the forwarder supplies it)."""
        return (self.from_, self.to, self.value, self.gas, self.deadline, self.data, self.signature)

    def message(self, nonce: int | None = None) -> dict[str, Any]:
        return {
            "from": self.from_,
            "to": self.to,
            "value": self.value,
            "gas": self.gas,
            "nonce": self.nonce if nonce is None else nonce,
            "deadline": self.deadline,
            "data": self.data,
        }


@dataclass(frozen=True)
class Permit:
    """A signed ERC-2612 permit: `owner` lets `spender` spend `value` until `deadline`."""

    owner: str
    spender: str
    value: int
    nonce: int
    deadline: int
    v: int
    r: bytes
    s: bytes

    def message(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "spender": self.spender,
            "value": self.value,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }

    @property
    def signature(self) -> bytes:
        return self.r + self.s + bytes([self.v])


def eip712_domain(contract: Contract) -> dict[str, Any]:
    """The EIP-712 domain a contract reports through ERC-5267 `eip712Domain()`."""
    _fields, name, version, chain_id, verifying, _salt, _ext = (
        contract.functions.eip712Domain().call()
    )
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying}


def _now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def _recover(
    domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any], sig: bytes
) -> str:
    signable = encode_typed_data(domain_data=domain, message_types=types, message_data=message)
    return str(Account.recover_message(signable, signature=sig))


# --- forwarder ----------------------------------------------------------------------------


def sign_forward_request(
    *,
    w3: Web3,
    deployment: Deployment,
    signer: LocalAccount,
    call: ContractFunction,
    value: int = 0,
    gas: int | None = None,
    deadline: int | None = None,
) -> ForwardRequest:
    """Sign `call` as `signer` for the network's forwarder; simulates it from the signer first."""
    fwd = contracts.forwarder(w3, deployment)
    data = bytes.fromhex(call._encode_transaction_data()[2:])
    inner: TxParams = {
        "from": signer.address,
        "to": call.address,
        "data": data,
        "value": Wei(value),
    }
    if gas is None:
        with reverts_decoded(error_decoder()):
            gas = int(w3.eth.estimate_gas(inner) * GAS_HEADROOM)
    req = ForwardRequest(
        from_=signer.address,
        to=call.address,
        value=value,
        gas=gas,
        nonce=int(fwd.functions.nonces(signer.address).call()),
        deadline=deadline if deadline is not None else _now(w3) + DEFAULT_TTL,
        data=data,
        signature=b"",
    )
    signed = signer.sign_typed_data(eip712_domain(fwd), FORWARD_REQUEST_TYPES, req.message())
    return dataclasses.replace(req, signature=bytes(signed.signature))


def check_forward_request(*, w3: Web3, deployment: Deployment, request: ForwardRequest) -> None:
    """Raise SignatureExpired / InvalidSignature / the inner call's domain error, or return."""
    fwd = contracts.forwarder(w3, deployment)
    if request.deadline < _now(w3) + 1:  # the next block is at least one second later
        raise SignatureExpired(request.deadline)
    target = w3.eth.contract(address=checksum_address(request.to), abi=TRUSTS_FORWARDER_ABI)
    if not target.functions.isTrustedForwarder(fwd.address).call():
        raise Unauthorized(fwd.address, "trusted forwarder")
    if not fwd.functions.verify(request.as_struct()).call():
        nonce = int(fwd.functions.nonces(request.from_).call())
        signer = _recover(
            eip712_domain(fwd), FORWARD_REQUEST_TYPES, request.message(nonce), request.signature
        )
        raise InvalidSignature(signer, request.from_)
    inner: TxParams = {
        "from": request.from_,
        "to": request.to,
        "data": request.data,
        "value": Wei(request.value),
    }
    with reverts_decoded(error_decoder()):
        w3.eth.call(inner)  # the real reason: execute() would only say the call failed


def relay(
    *, relayer: Sender, deployment: Deployment, request: ForwardRequest, checked: bool = False
) -> Receipt:
    """Check a signed request (unless the caller just did) and submit it through the forwarder,
    paid by `relayer`."""
    if not checked:
        check_forward_request(w3=relayer.w3, deployment=deployment, request=request)
    fwd = contracts.forwarder(relayer.w3, deployment)
    return relayer.transact(fwd.functions.execute(request.as_struct()), value=request.value)


def relay_call(
    *,
    relayer: Sender,
    deployment: Deployment,
    signer: LocalAccount,
    call: ContractFunction,
    deadline: int | None = None,
) -> Receipt:
    """Sign `call` as `signer` and relay it in one step."""
    req = sign_forward_request(
        w3=relayer.w3, deployment=deployment, signer=signer, call=call, deadline=deadline
    )
    return relay(relayer=relayer, deployment=deployment, request=req)


def sign_swap(
    *,
    w3: Web3,
    deployment: Deployment,
    signer: LocalAccount,
    exchange_id: int,
    amount: int,
    deadline: int | None = None,
) -> ForwardRequest:
    """`signer` (a member) signs a coalition-exchange swap for a relayer to submit."""
    call = exchange.swap_call(w3=w3, deployment=deployment, exchange_id=exchange_id, amount=amount)
    return sign_forward_request(
        w3=w3, deployment=deployment, signer=signer, call=call, deadline=deadline
    )


def relay_swap(
    *,
    relayer: Sender,
    deployment: Deployment,
    signer: LocalAccount,
    exchange_id: int,
    amount: int,
    deadline: int | None = None,
) -> exchange.Swap:
    """A gasless swap: `signer` signs, `relayer` pays; the member's points are swapped."""
    req = sign_swap(
        w3=relayer.w3,
        deployment=deployment,
        signer=signer,
        exchange_id=exchange_id,
        amount=amount,
        deadline=deadline,
    )
    receipt = relay(relayer=relayer, deployment=deployment, request=req)
    return exchange.swap_of(w3=relayer.w3, deployment=deployment, receipt=receipt)


# --- ERC-2612 permit ------------------------------------------------------------------------


def sign_permit(
    *,
    w3: Web3,
    program: Program,
    owner: LocalAccount,
    spender: str,
    value: int,
    deadline: int | None = None,
) -> Permit:
    """`owner` signs a permit letting `spender` spend `value` of its points."""
    token = contracts.points(w3, program)
    unsigned = Permit(
        owner=owner.address,
        spender=checksum_address(spender),
        value=positive_amount(value),
        nonce=int(token.functions.nonces(owner.address).call()),
        deadline=deadline if deadline is not None else _now(w3) + DEFAULT_TTL,
        v=0,
        r=b"",
        s=b"",
    )
    signed = owner.sign_typed_data(eip712_domain(token), PERMIT_TYPES, unsigned.message())
    return dataclasses.replace(
        unsigned, v=signed.v, r=signed.r.to_bytes(32, "big"), s=signed.s.to_bytes(32, "big")
    )


def check_permit(*, w3: Web3, program: Program, permit: Permit, spender: str) -> None:
    """Raise SignatureExpired / InvalidSignature unless `spender` can use `permit` now."""
    if permit.deadline < _now(w3) + 1:
        raise SignatureExpired(permit.deadline)
    token = contracts.points(w3, program)
    if checksum_address(permit.spender) != checksum_address(spender):
        raise InvalidSignature(spender, permit.spender)
    if int(token.functions.nonces(permit.owner).call()) != permit.nonce:
        raise InvalidSignature(permit.owner, permit.owner)  # used already (replay)
    signer = _recover(eip712_domain(token), PERMIT_TYPES, permit.message(), permit.signature)
    if signer != checksum_address(permit.owner):
        raise InvalidSignature(signer, permit.owner)
