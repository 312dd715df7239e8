"""Membership pass operations: issue, change tier, renew, revoke, transfer, show."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.logs import DISCARD

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Receipt, Sender
from loyalty_ledger.errors import InvalidExpiry, InvalidInput, InvalidTier, LedgerError, NoPass
from loyalty_ledger.validate import checksum_address

UINT64_MAX = 2**64 - 1


@dataclass(frozen=True)
class PassInfo:
    token_id: int
    owner: str
    tier: int
    tier_name: str
    expires_at: int  # 0: never
    active: bool
    locked: bool


def tiers(*, w3: Web3, program: Program) -> list[str]:
    """The program's tier names, lowest first."""
    c = contracts.passes(w3, program)
    return [c.functions.tierName(i).call() for i in range(c.functions.tierCount().call())]


def resolve_tier(*, w3: Web3, program: Program, tier: int | str) -> int:
    """A tier number from a number or a tier name (case-insensitive)."""
    names = tiers(w3=w3, program=program)
    if isinstance(tier, str) and not tier.isdigit():
        lowered = [n.lower() for n in names]
        if tier.lower() not in lowered:
            raise InvalidInput(f"no tier named {tier!r}; tiers: {', '.join(names)}")
        return lowered.index(tier.lower())
    if isinstance(tier, bool) or not isinstance(tier, int | str):
        raise InvalidInput(f"tier must be a number or a name, not {tier!r}")
    number = int(tier)
    if not 0 <= number < len(names):
        raise InvalidTier(number, len(names))
    return number


def _expiry(expires_at: int) -> int:
    if isinstance(expires_at, bool) or not isinstance(expires_at, int):
        raise InvalidExpiry(expires_at)  # type: ignore[arg-type]
    if not 0 <= expires_at <= UINT64_MAX:
        raise InvalidExpiry(expires_at)
    return expires_at


def issue_pass(
    *, sender: Sender, program: Program, member: str, tier: int | str = 0, expires_at: int = 0
) -> tuple[int, Receipt]:
    """Issue a pass to `member` at `tier` until `expires_at` (0: never); returns its token id."""
    c = contracts.passes(sender.w3, program)
    number = resolve_tier(w3=sender.w3, program=program, tier=tier)
    receipt = sender.transact(
        c.functions.issue(checksum_address(member), number, _expiry(expires_at))
    )
    events = c.events.PassIssued().process_receipt(receipt.raw, errors=DISCARD)
    if not events:
        raise LedgerError("the pass was issued but no PassIssued event was found")
    return int(events[0]["args"]["tokenId"]), receipt


def set_tier(*, sender: Sender, program: Program, member: str, tier: int | str) -> Receipt:
    """Move `member`'s pass to `tier` (an upgrade or a downgrade)."""
    c = contracts.passes(sender.w3, program)
    number = resolve_tier(w3=sender.w3, program=program, tier=tier)
    return sender.transact(c.functions.setTier(checksum_address(member), number))


def renew_pass(*, sender: Sender, program: Program, member: str, expires_at: int) -> Receipt:
    c = contracts.passes(sender.w3, program)
    return sender.transact(c.functions.renew(checksum_address(member), _expiry(expires_at)))


def revoke_pass(*, sender: Sender, program: Program, member: str) -> Receipt:
    c = contracts.passes(sender.w3, program)
    return sender.transact(c.functions.revoke(checksum_address(member)))


def transfer_pass(*, sender: Sender, program: Program, to: str) -> Receipt:
    """The holder (`sender`) moves its pass to `to`; soulbound passes raise PassNotTransferable."""
    c = contracts.passes(sender.w3, program)
    token_id = int(c.functions.passOf(sender.address).call())
    if token_id == 0:
        raise NoPass(sender.address)
    return sender.transact(c.functions.transferFrom(sender.address, checksum_address(to), token_id))


def set_transferable(*, sender: Sender, program: Program, transferable: bool) -> Receipt:
    c = contracts.passes(sender.w3, program)
    return sender.transact(c.functions.setTransferable(bool(transferable)))


def pass_of(*, w3: Web3, program: Program, member: str) -> PassInfo | None:
    """The pass `member` holds, or None."""
    c = contracts.passes(w3, program)
    token_id = int(c.functions.passOf(checksum_address(member)).call())
    if token_id == 0:
        return None
    owner, tier, expires_at = c.functions.passInfo(token_id).call()
    return PassInfo(
        token_id=token_id,
        owner=owner,
        tier=int(tier),
        tier_name=c.functions.tierName(tier).call(),
        expires_at=int(expires_at),
        active=bool(c.functions.isActive(owner).call()),
        locked=bool(c.functions.locked(token_id).call()),
    )
