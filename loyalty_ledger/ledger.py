"""Domain operations on members and points: validate input, then send (pre-flighted) txs.

Every function is keyword-only and takes the `Sender` of whoever acts (operator, brand, member).
Pass operations live in `passes`; gasless variants of member actions in `gasless`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from web3 import Web3
from web3.contract.contract import ContractFunction

from . import contracts
from .chain import Receipt, Sender
from .deploy import Deployment, Program
from .errors import InvalidInput, InvalidSignature
from .gasless import Permit, check_permit
from .validate import checksum_address, positive_amount, reason_bytes, ref_bytes

MAX_MEMO_BYTES = 64
DEFAULT_CHUNK = 100  # members per issueBatch transaction


@dataclass(frozen=True)
class MemberStatus:
    address: str
    is_member: bool
    frozen: bool
    recovered_to: str | None


@dataclass(frozen=True)
class BatchItem:
    member: str
    amount: int
    ref: str = ""


# --- members (operator, or a brand holding the registrar role) -----------------------------


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


def issue_points(
    *,
    sender: Sender,
    program: Program,
    member: str,
    amount: int,
    reason: str = "purchase",
    ref: str = "",
) -> Receipt:
    """Issue `amount` new points to `member` for `reason`, with external reference `ref`."""
    token = contracts.points(sender.w3, program)
    call = token.functions.issue(
        checksum_address(member), positive_amount(amount), reason_bytes(reason), ref_bytes(ref)
    )
    return sender.transact(call)


def issue_points_batch(
    *,
    sender: Sender,
    program: Program,
    items: Sequence[BatchItem],
    reason: str = "purchase",
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> list[Receipt]:
    """Issue to many members: one issueBatch tx per chunk, all sent before any is awaited.

    Every item is validated before the first transaction; `progress(n)` is called as each
    chunk of n items is confirmed.
    """
    if not items:
        raise InvalidInput("the batch is empty")
    if chunk_size < 1:
        raise InvalidInput("chunk_size must be at least 1")
    members = [checksum_address(i.member) for i in items]
    amounts = [positive_amount(i.amount) for i in items]
    refs = [ref_bytes(i.ref) for i in items]
    why = reason_bytes(reason)
    token = contracts.points(sender.w3, program)
    hashes = []
    for start in range(0, len(items), chunk_size):
        end = start + chunk_size
        call = token.functions.issueBatch(
            members[start:end], amounts[start:end], why, refs[start:end]
        )
        hashes.append((len(members[start:end]), sender.send(call)))
    receipts = []
    for n, tx_hash in hashes:
        receipts.append(sender.wait(tx_hash))
        if progress is not None:
            progress(n)
    return receipts


def redeem_call(*, w3: Web3, program: Program, amount: int, ref: str = "") -> ContractFunction:
    """The member's own redemption, for direct sending or a gasless relay."""
    return contracts.points(w3, program).functions.redeem(positive_amount(amount), ref_bytes(ref))


def redeem_points(*, sender: Sender, program: Program, amount: int, ref: str = "") -> Receipt:
    """The member (`sender`) burns `amount` of its own points against `ref`."""
    return sender.transact(redeem_call(w3=sender.w3, program=program, amount=amount, ref=ref))


def redeem_with_permit(
    *, sender: Sender, program: Program, permit: Permit, ref: str = ""
) -> Receipt:
    """The brand (`sender`, a redeemer) burns `permit.value` of the member's points.

    The member's signed ERC-2612 permit is its consent; it is checked (expiry, nonce, signer)
    before anything is sent.
    """
    positive_amount(permit.value)
    if permit.spender != sender.address:
        raise InvalidSignature(sender.address, permit.spender)
    check_permit(w3=sender.w3, program=program, permit=permit, spender=sender.address)
    token = contracts.points(sender.w3, program)
    call = token.functions.redeemWithPermit(
        checksum_address(permit.owner),
        permit.value,
        ref_bytes(ref),
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
    )
    return sender.transact(call)


def forfeit_points(
    *, sender: Sender, program: Program, member: str, amount: int, reason: str = "expiry"
) -> Receipt:
    """The brand admin burns `amount` of `member`'s points without consent (expiry, fraud)."""
    token = contracts.points(sender.w3, program)
    call = token.functions.forfeit(
        checksum_address(member), positive_amount(amount), reason_bytes(reason)
    )
    return sender.transact(call)


def transfer_call(*, w3: Web3, program: Program, to: str, amount: int) -> ContractFunction:
    token = contracts.points(w3, program)
    return token.functions.transfer(checksum_address(to), positive_amount(amount))


def transfer_points(*, sender: Sender, program: Program, to: str, amount: int) -> Receipt:
    """The member (`sender`) transfers `amount` points to `to`."""
    return sender.transact(transfer_call(w3=sender.w3, program=program, to=to, amount=amount))


def gift_call(
    *, w3: Web3, program: Program, to: str, amount: int, memo: str = ""
) -> ContractFunction:
    if not isinstance(memo, str) or len(memo.encode()) > MAX_MEMO_BYTES:
        raise InvalidInput(f"a gift memo is text of at most {MAX_MEMO_BYTES} bytes")
    token = contracts.points(w3, program)
    return token.functions.gift(checksum_address(to), positive_amount(amount), memo)


def gift_points(
    *, sender: Sender, program: Program, to: str, amount: int, memo: str = ""
) -> Receipt:
    """The member (`sender`) gives `amount` points to `to` with a short memo."""
    call = gift_call(w3=sender.w3, program=program, to=to, amount=amount, memo=memo)
    return sender.transact(call)


def balance_of(*, w3: Web3, program: Program, member: str) -> int:
    return int(contracts.points(w3, program).functions.balanceOf(checksum_address(member)).call())


def total_supply(*, w3: Web3, program: Program) -> int:
    return int(contracts.points(w3, program).functions.totalSupply().call())


def pause(*, sender: Sender, program: Program) -> Receipt:
    """Stop every issue, redemption, forfeiture and transfer of the brand's points (pauser)."""
    return sender.transact(contracts.points(sender.w3, program).functions.pause())


def unpause(*, sender: Sender, program: Program) -> Receipt:
    return sender.transact(contracts.points(sender.w3, program).functions.unpause())


def is_paused(*, w3: Web3, program: Program) -> bool:
    return bool(contracts.points(w3, program).functions.paused().call())


# Pass operations, re-exported so `ledger` is the one place for domain operations.
from .passes import (  # noqa: E402
    PassInfo,
    issue_pass,
    pass_of,
    renew_pass,
    revoke_pass,
    set_tier,
    set_transferable,
    transfer_pass,
)

__all__ = [
    "BatchItem",
    "MemberStatus",
    "PassInfo",
    "balance_of",
    "deregister_member",
    "forfeit_points",
    "freeze_member",
    "gift_call",
    "gift_points",
    "grant_registrar",
    "grant_role",
    "has_role",
    "is_paused",
    "issue_pass",
    "issue_points",
    "issue_points_batch",
    "member_status",
    "pass_of",
    "pause",
    "recover_member",
    "redeem_call",
    "redeem_points",
    "redeem_with_permit",
    "register_member",
    "register_members",
    "renew_pass",
    "revoke_pass",
    "revoke_role",
    "set_tier",
    "set_transferable",
    "total_supply",
    "transfer_call",
    "transfer_pass",
    "transfer_points",
    "unfreeze_member",
    "unpause",
]
