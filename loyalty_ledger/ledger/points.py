"""Operations on points: validate input, then send (pre-flighted) txs.

Every function is keyword-only and takes the `Sender` of whoever acts (brand or member).
Registry operations live in `members`, pass operations in `passes`, gasless variants in
`gasless`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from web3 import Web3
from web3.contract.contract import ContractFunction

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Receipt, Sender
from loyalty_ledger.errors import InvalidInput, InvalidSignature
from loyalty_ledger.ledger.gasless import Permit, check_permit
from loyalty_ledger.validate import checksum_address, positive_amount, reason_bytes, ref_bytes

MAX_MEMO_BYTES = 64
DEFAULT_CHUNK = 100  # members per issueBatch transaction


@dataclass(frozen=True)
class BatchItem:
    member: str
    amount: int
    ref: str = ""


# --- members (operator, or a brand holding the registrar role) -----------------------------


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
