"""Point expiry on chain (ERC-7818 lots of `LoyaltyPoints`): the brand's policy and a member's
lots. The rules and their pure model live in `expiry`; this module reads and sets them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from web3 import Web3

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Receipt, Sender
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.expiry import Clock
from loyalty_ledger.validate import checksum_address

MAX_VALIDITY_EPOCHS = 1000
"""The longest validity a brand may set (the contract's MAX_VALIDITY_EPOCHS)."""


@dataclass(frozen=True)
class Lot:
    """Points that expire together: usable until `expires_at - 1`, gone from `expires_at`."""

    expiry_epoch: int
    expires_at: int
    amount: int


@dataclass(frozen=True)
class Lots:
    """A member's live points in one program, as of block `timestamp` (epoch `epoch`)."""

    member: str
    epoch: int
    timestamp: int
    lots: list[Lot]
    permanent: int

    @property
    def total(self) -> int:
        """What `balanceOf` answers: live lots plus the permanent lot."""
        return self.permanent + sum(lot.amount for lot in self.lots)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


@dataclass(frozen=True)
class Policy:
    """A program's expiry clock and current validity (0 = points never expire)."""

    validity_epochs: int
    epoch_zero: int
    epoch_length: int
    current_epoch: int

    @property
    def clock(self) -> Clock:
        return Clock(self.epoch_zero, self.epoch_length)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _validity(epochs: int) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int):
        raise InvalidInput(f"a validity is a whole number of epochs, not {epochs!r}")
    if not 0 <= epochs <= MAX_VALIDITY_EPOCHS:
        raise InvalidInput(f"a validity is 0 (never expire) to {MAX_VALIDITY_EPOCHS} epochs")
    return epochs


def set_validity_duration(*, sender: Sender, program: Program, epochs: int) -> Receipt:
    """Points issued from now on stay valid `epochs` epochs (0 = never); brand admin.

    Points already held keep their expiry. Emits ExpiryPolicySet.
    """
    token = contracts.points(sender.w3, program)
    return sender.transact(token.functions.setValidityDuration(_validity(epochs)))


def clock_of(*, w3: Web3, program: Program) -> Clock:
    """The program's (immutable) epoch clock."""
    token = contracts.points(w3, program)
    return Clock(int(token.functions.epochZero().call()), int(token.functions.epochLength().call()))


def policy_of(*, w3: Web3, program: Program) -> Policy:
    """The program's clock, current epoch and validity."""
    clock = clock_of(w3=w3, program=program)
    token = contracts.points(w3, program)
    return Policy(
        validity_epochs=int(token.functions.validityDuration().call()),
        epoch_zero=clock.zero,
        epoch_length=clock.length,
        current_epoch=clock.epoch(_now(w3)),
    )


def _now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def lots_of(*, w3: Web3, program: Program, member: str) -> Lots:
    """`member`'s live lots, soonest to expire first, and permanent points (latest block).

    One JSON-RPC batch: the block and the four reads are answered together.
    """
    addr = checksum_address(member)
    token = contracts.points(w3, program)
    with w3.batch_requests() as batch:
        batch.add(w3.eth.get_block("latest"))  # type: ignore[arg-type]
        for call in (
            token.functions.lotsOf(addr),
            token.functions.permanentBalanceOf(addr),
            token.functions.epochZero(),
            token.functions.epochLength(),
        ):
            batch.add(call)  # type: ignore[arg-type]
        results: list[Any] = list(batch.execute())
    block, (expiries, amounts), permanent, zero, length = results
    clock, timestamp = Clock(int(zero), int(length)), int(block["timestamp"])
    return Lots(
        member=addr,
        epoch=clock.epoch(timestamp),
        timestamp=timestamp,
        lots=[
            Lot(expiry_epoch=int(x), expires_at=clock.start(int(x)), amount=int(a))
            for x, a in zip(expiries, amounts, strict=True)
        ],
        permanent=int(permanent),
    )


def expiring_within(*, w3: Web3, program: Program, member: str, seconds: int) -> list[Lot]:
    """`member`'s lots that expire within `seconds` of the latest block, soonest first."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise InvalidInput(f"a time window is a whole number of seconds >= 0, not {seconds!r}")
    held = lots_of(w3=w3, program=program, member=member)
    return [lot for lot in held.lots if lot.expires_at <= held.timestamp + seconds]
