"""Typed handles on the deployed contracts (ABIs from the compiled artifacts)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

from loyalty_ledger.chain.artifacts import load_abi
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.validate import checksum_address

Role = Literal["admin", "issuer", "redeemer", "pauser"]
ROLES: dict[str, bytes] = {
    "admin": b"\0" * 32,  # OpenZeppelin's DEFAULT_ADMIN_ROLE
    "issuer": keccak(text="ISSUER_ROLE"),
    "redeemer": keccak(text="REDEEMER_ROLE"),
    "pauser": keccak(text="PAUSER_ROLE"),
    "registrar": keccak(text="REGISTRAR_ROLE"),
    "operator": keccak(text="OPERATOR_ROLE"),
    "exchange": keccak(text="EXCHANGE_ROLE"),
}
ROLE_NAMES = {v: k for k, v in ROLES.items()}


def role_id(role: str) -> bytes:
    """bytes32 id of a role name (a key of ROLES: admin, issuer, ..., exchange)."""
    try:
        return ROLES[role]
    except KeyError:
        raise InvalidInput(f"unknown role {role!r}; one of {', '.join(ROLES)}") from None


def at(w3: Web3, address: str, name: str) -> Contract:
    return _contract(w3, checksum_address(address), name)


@lru_cache(maxsize=256)
def _contract(w3: Web3, address: str, name: str) -> Contract:
    # Building a web3 contract object parses the ABI (~15 ms); handles are immutable, so share.
    return w3.eth.contract(address=checksum_address(address), abi=load_abi(name))


def registry(w3: Web3, deployment: Deployment) -> Contract:
    return at(w3, deployment.registry, "MemberRegistry")


def forwarder(w3: Web3, deployment: Deployment) -> Contract:
    return at(w3, deployment.forwarder, "ERC2771Forwarder")


def points(w3: Web3, program: Program) -> Contract:
    return at(w3, program.points, "LoyaltyPoints")


def passes(w3: Web3, program: Program) -> Contract:
    return at(w3, program.pass_, "MembershipPass")
