"""Registry operations: register, deregister, freeze, recover members; roles on programs.

Every function is keyword-only and takes the `Sender` of whoever acts (operator or registrar).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from web3 import Web3

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.sender import Receipt, Sender
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.validate import checksum_address


@dataclass(frozen=True)
class MemberStatus:
    address: str
    is_member: bool
    frozen: bool
    recovered_to: str | None


def _registry_tx(sender: Sender, deployment: Deployment, fn: str, *args: str) -> Receipt:
    reg = contracts.registry(sender.w3, deployment)
    return sender.transact(reg.functions[fn](*(checksum_address(a) for a in args)))


def register_member(*, sender: Sender, deployment: Deployment, member: str) -> Receipt:
    """Register (KYC) `member` so it may hold and receive tokens."""
    return _registry_tx(sender, deployment, "register", member)


def register_members(*, sender: Sender, deployment: Deployment, members: Sequence[str]) -> Receipt:
    """Register many members in one transaction."""
    if not members:
        raise InvalidInput("no members to register")
    reg = contracts.registry(sender.w3, deployment)
    return sender.transact(reg.functions.registerBatch([checksum_address(m) for m in members]))


def deregister_member(*, sender: Sender, deployment: Deployment, member: str) -> Receipt:
    return _registry_tx(sender, deployment, "deregister", member)


def freeze_member(*, sender: Sender, deployment: Deployment, member: str) -> Receipt:
    return _registry_tx(sender, deployment, "freeze", member)


def unfreeze_member(*, sender: Sender, deployment: Deployment, member: str) -> Receipt:
    return _registry_tx(sender, deployment, "unfreeze", member)


def recover_member(
    *, sender: Sender, deployment: Deployment, lost_wallet: str, new_wallet: str
) -> Receipt:
    """Move every point and pass of `lost_wallet` to the registered `new_wallet` (operator)."""
    return _registry_tx(sender, deployment, "recover", lost_wallet, new_wallet)


def member_status(*, w3: Web3, deployment: Deployment, account: str) -> MemberStatus:
    reg = contracts.registry(w3, deployment)
    addr = checksum_address(account)
    recovered = reg.functions.recoveredTo(addr).call()
    return MemberStatus(
        address=addr,
        is_member=bool(reg.functions.isMember(addr).call()),
        frozen=bool(reg.functions.isFrozen(addr).call()),
        recovered_to=None if int(recovered, 16) == 0 else recovered,
    )


def grant_registrar(*, sender: Sender, deployment: Deployment, account: str) -> Receipt:
    """Let `account` (a brand) register members itself (operator)."""
    reg = contracts.registry(sender.w3, deployment)
    role = contracts.role_id("registrar")
    return sender.transact(reg.functions.grantRole(role, checksum_address(account)))


# --- brand roles ----------------------------------------------------------------------------


def _role_target(w3: Web3, program: Program, contract: str):  # type: ignore[no-untyped-def]
    if contract == "points":
        return contracts.points(w3, program)
    if contract == "pass":
        return contracts.passes(w3, program)
    raise InvalidInput(f"contract must be 'points' or 'pass', not {contract!r}")


def grant_role(
    *, sender: Sender, program: Program, role: str, account: str, contract: str = "points"
) -> Receipt:
    """Grant a brand role (admin, issuer, redeemer, pauser) on the points or pass contract."""
    target = _role_target(sender.w3, program, contract)
    return sender.transact(
        target.functions.grantRole(contracts.role_id(role), checksum_address(account))
    )


def revoke_role(
    *, sender: Sender, program: Program, role: str, account: str, contract: str = "points"
) -> Receipt:
    target = _role_target(sender.w3, program, contract)
    return sender.transact(
        target.functions.revokeRole(contracts.role_id(role), checksum_address(account))
    )


def has_role(
    *, w3: Web3, program: Program, role: str, account: str, contract: str = "points"
) -> bool:
    target = _role_target(w3, program, contract)
    return bool(target.functions.hasRole(contracts.role_id(role), checksum_address(account)).call())


# --- points ---------------------------------------------------------------------------------
