"""The point-expiry rules of `LoyaltyPoints` (ERC-7818 lots), as a pure model.

One model for everyone who must agree with the contract: the indexer's mirror, the audit's
replay and the tests that fuzz the contract against it. The rules (see `ILoyaltyPoints`):

- Epoch `e` starts at `zero + e * length` (seconds); the epoch of a block is
  `(timestamp - zero) // length`.
- Under a validity of `v` epochs (0 = never), points issued in epoch `c` form a lot that
  expires when epoch `c + v` starts; the lot is named by that expiry epoch. Points that never
  expire sit in the permanent lot (`PERMANENT`).
- Every debit takes from live lots soonest-to-expire first, the permanent lot last; a transfer
  credits the recipient lots with the same expiries. Expired lots never change again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERMANENT = 2**256 - 1
"""The identifier of the lot of points that never expire."""
LOT_MAX = 2**64 - 1
"""The most points one expiring lot holds (the contract packs four lots in a storage slot)."""
SECONDS_PER_DAY = 86_400

Parts = list[tuple[int, int]]
"""Points taken or given, as (expiry epoch, amount) pairs, soonest first."""


class NotEnoughPoints(ValueError):
    """A debit asked for more live points than the holder has."""

    def __init__(self, available: int, wanted: int) -> None:
        super().__init__(f"holds {available} live points, needs {wanted}")
        self.available = available
        self.wanted = wanted


class LotOverflow(ValueError):
    """A credit would put more than LOT_MAX points in one expiring lot."""


@dataclass(frozen=True, slots=True)
class Clock:
    """A program's epoch clock (immutable per contract)."""

    zero: int
    length: int

    def epoch(self, timestamp: int) -> int:
        """The epoch a block with `timestamp` falls in."""
        return (timestamp - self.zero) // self.length

    def start(self, epoch: int) -> int:
        """The first second of `epoch`: lots expiring at `epoch` are dead from then on."""
        return self.zero + epoch * self.length

    @staticmethod
    def at_deploy(timestamp: int, length: int) -> Clock:
        """The clock a contract deployed at `timestamp` gets: epoch 0 starts that UTC midnight."""
        return Clock(timestamp - timestamp % SECONDS_PER_DAY, length)


def expiry_for(clock: Clock, validity: int, timestamp: int) -> int:
    """The lot points issued at `timestamp` under `validity` epochs go to."""
    return PERMANENT if validity == 0 else clock.epoch(timestamp) + validity


@dataclass(slots=True)
class Holding:
    """One account's lots in one program: expiry epoch → amount (the permanent lot included)."""

    lots: dict[int, int] = field(default_factory=dict)

    def live(self, epoch: int) -> int:
        """Points usable in `epoch` (what `balanceOf` answers)."""
        return sum(a for x, a in self.lots.items() if x > epoch)

    def live_lots(self, epoch: int) -> Parts:
        """Live lots, soonest first (the permanent lot last)."""
        return sorted((x, a) for x, a in self.lots.items() if x > epoch and a > 0)

    def expired(self, epoch: int) -> int:
        """Points whose lot expired at or before `epoch` started."""
        return sum(a for x, a in self.lots.items() if x <= epoch)

    def take(self, amount: int, epoch: int) -> Parts:
        """Debits `amount` soonest-to-expire first; raises NotEnoughPoints, changing nothing."""
        available = self.live(epoch)
        if available < amount:
            raise NotEnoughPoints(available, amount)
        taken: Parts = []
        for x, a in self.live_lots(epoch):
            if amount == 0:
                break
            part = min(a, amount)
            self._add(x, -part)
            taken.append((x, part))
            amount -= part
        return taken

    def take_at(self, expiry: int, amount: int, epoch: int) -> Parts:
        """Debits `amount` from the lot `expiry` only (ERC-7818 `transferAtEpoch`)."""
        have = self.lots.get(expiry, 0) if expiry > epoch else 0
        if have < amount:
            raise NotEnoughPoints(have, amount)
        self._add(expiry, -amount)
        return [(expiry, amount)]

    def give(self, parts: Parts) -> None:
        """Credits `parts`; raises LotOverflow (changing nothing) when a lot would pass LOT_MAX."""
        for x, a in parts:
            if x != PERMANENT and self.lots.get(x, 0) + a > LOT_MAX:
                raise LotOverflow(f"lot {x} would hold more than {LOT_MAX} points")
        for x, a in parts:
            self._add(x, a)

    def _add(self, expiry: int, delta: int) -> None:
        left = self.lots.get(expiry, 0) + delta
        if left:
            self.lots[expiry] = left
        else:
            self.lots.pop(expiry, None)


@dataclass(slots=True)
class Book:
    """One program's holdings under its clock and policy: the whole model of a contract."""

    clock: Clock
    validity: int = 0
    supply: int = 0
    holdings: dict[str, Holding] = field(default_factory=dict)

    def holding(self, account: str) -> Holding:
        return self.holdings.setdefault(account, Holding())

    def balance(self, account: str, timestamp: int) -> int:
        held = self.holdings.get(account)
        return held.live(self.clock.epoch(timestamp)) if held else 0

    def issue(self, to: str, amount: int, timestamp: int) -> int:
        """Credits a new lot under the current policy; returns its expiry."""
        expiry = expiry_for(self.clock, self.validity, timestamp)
        self.holding(to).give([(expiry, amount)])
        self.supply += amount
        return expiry

    def burn(self, account: str, amount: int, timestamp: int) -> Parts:
        """Redemption, forfeiture or swap out: soonest-to-expire first."""
        parts = self.holding(account).take(amount, self.clock.epoch(timestamp))
        self.supply -= amount
        return parts

    def move(
        self, src: str, dst: str, amount: int, timestamp: int, *, at_epoch: int | None = None
    ) -> Parts:
        """Transfer, gift or recovery: the recipient gets the same lots."""
        epoch = self.clock.epoch(timestamp)
        held = self.holding(src)
        parts = (
            held.take(amount, epoch) if at_epoch is None else held.take_at(at_epoch, amount, epoch)
        )
        try:
            self.holding(dst).give(parts)
        except LotOverflow:
            held.give(parts)
            raise
        return parts

    def expired_total(self, timestamp: int) -> int:
        """Points that expired unspent, by `timestamp`, over every holder."""
        epoch = self.clock.epoch(timestamp)
        return sum(h.expired(epoch) for h in self.holdings.values())
