"""Replay rules of point expiry (ERC-7818 lots), mixed into `replay.Replayer`.

Each program's lots are kept in a `loyalty_ledger.expiry.Book` (the one model of the rules):
every Transfer is applied to it in log order at its block's time, a TransferAtEpoch naming
the lot its Transfer takes from. A debit the model refuses (the holder's live lots do not cover
it) is the breach "expired-points-spent" — recorded, then applied anyway (expired lots next)
so that the replay keeps following the chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyalty_ledger.expiry import (
    PERMANENT,
    Book,
    Clock,
    Holding,
    LotOverflow,
    NotEnoughPoints,
    Parts,
    expiry_for,
)

from .decode import Event
from .state import Finding, LedgerState, PointsBook, Policy

MAX_VALIDITY_EPOCHS = 1000
_Pending = tuple[str, str, str, int, int]  # (contract, from, to, epoch, value)


class ExpiryRules:
    """The expiry handlers and the lot-keeping that `_on_points_Transfer` calls."""

    if TYPE_CHECKING:
        state: LedgerState

        def _points(self, address: str) -> PointsBook: ...
        def _breach(self, code: str, ev: Event, detail: str) -> Finding: ...

    _at_epoch: _Pending | None = None
    _at_epoch_ev: Event | None = None

    def _time(self, book: PointsBook, ev: Event) -> int:
        t = ev.log.block_time
        if t is None:
            if book.clocked:
                raise ValueError(
                    f"log {ev.log.block_number}:{ev.log.log_index} has no block time, which the "
                    "expiry replay needs"
                )
            return 0  # every lot is permanent: time does not matter
        return t

    def _flag(self, code: str, ev: Event, detail: str) -> None:
        self.state.findings.append(self._breach(code, ev, detail))

    # -- events ---------------------------------------------------------------------------

    def _on_points_ExpiryPolicySet(self, ev: Event) -> None:
        book, a = self._points(ev.log.address), ev.args
        book.events += 1
        clock = Clock(a["epochZero"], a["epochLength"])
        if clock.length <= 0:
            self._flag("bad-epoch-clock", ev, f"{book.address} announced an epoch length of 0")
            return
        if book.clocked and book.lots.clock != clock:
            self._flag(
                "epoch-clock-changed",
                ev,
                f"{book.address} changed its immutable clock from {book.lots.clock} to {clock}",
            )
        book.lots.clock, book.clocked = clock, True
        t = ev.log.block_time
        if t is not None and clock.epoch(t) != a["fromEpoch"]:
            self._flag(
                "policy-epoch-mismatch",
                ev,
                f"policy says from epoch {a['fromEpoch']}, the block is in epoch {clock.epoch(t)}",
            )
        if a["validityEpochs"] > MAX_VALIDITY_EPOCHS:
            self._flag(
                "validity-too-long",
                ev,
                f"validity {a['validityEpochs']} epochs exceeds {MAX_VALIDITY_EPOCHS}",
            )
        book.lots.validity = a["validityEpochs"]
        book.policies.append(
            Policy(ev.log.block_number, a["validityEpochs"], a["fromEpoch"], a["by"])
        )

    def _on_points_TransferAtEpoch(self, ev: Event) -> None:
        a = ev.args
        self._points(ev.log.address).events += 1
        self._flush_expiry()
        self._at_epoch = (ev.log.address, a["from"], a["to"], a["epoch"], a["value"])
        self._at_epoch_ev = ev

    def _flush_expiry(self) -> None:
        if self._at_epoch is not None and self._at_epoch_ev is not None:
            self._flag(
                "transfer-at-epoch-unmatched",
                self._at_epoch_ev,
                "a TransferAtEpoch had no Transfer",
            )
        self._at_epoch = self._at_epoch_ev = None

    # -- lots (called by the Transfer handler, before `held` changes) ---------------------

    def _lots_transfer(
        self, book: PointsBook, ev: Event, frm: str, to: str, v: int, mint: bool, burn: bool
    ) -> None:
        at = self._take_at_epoch(ev, frm, to, v) if self._at_epoch is not None else None
        lots = book.lots
        if not book.clocked and at is None:  # no policy yet: every point is permanent
            _permanent(lots, frm, to, v, mint, burn)
            return
        t = self._time(book, ev)
        if mint:
            x = expiry_for(lots.clock, lots.validity, t)
            if x != PERMANENT:
                book.credited_by_expiry[x] = book.credited_by_expiry.get(x, 0) + v
            try:
                lots.issue(to, v, t)
            except LotOverflow as err:
                self._overflow(book, ev, to, [(x, v)], err)
                lots.supply += v
            return
        try:
            if burn:
                lots.burn(frm, v, t)
            else:
                lots.move(frm, to, v, t, at_epoch=at)
            return
        except NotEnoughPoints as err:
            parts = self._refused(book, ev, frm, v, lots.clock.epoch(t), at, err)
        except LotOverflow as err:  # the model put the points back
            src, epoch = lots.holding(frm), lots.clock.epoch(t)
            parts = src.take(v, epoch) if at is None else src.take_at(at, v, epoch)
            self._overflow(book, ev, to, parts, err)
            return
        if burn:
            lots.supply -= v
        else:
            try:
                lots.holding(to).give(parts)
            except LotOverflow as err:
                self._overflow(book, ev, to, parts, err)

    def _take_at_epoch(self, ev: Event, frm: str, to: str, v: int) -> int | None:
        pend, self._at_epoch, self._at_epoch_ev = self._at_epoch, None, None
        if pend is None:
            return None
        if pend != (ev.log.address, frm, to, pend[3], v):
            self._flag(
                "transfer-at-epoch-unmatched",
                ev,
                f"TransferAtEpoch {pend[1]} -> {pend[2]} of {pend[4]} is followed by a Transfer "
                f"{frm} -> {to} of {v}",
            )
            return None
        return pend[3]

    def _refused(
        self,
        book: PointsBook,
        ev: Event,
        frm: str,
        v: int,
        epoch: int,
        at: int | None,
        err: NotEnoughPoints,
    ) -> Parts:
        """A debit the model refused: a breach unless `negative-balance` names it already."""
        gross = book.held.get(frm, 0)
        if at is not None and at > epoch:  # a live lot, overdrawn
            self._flag(
                "lot-overdrawn",
                ev,
                f"{frm} moved {v} points of lot {at} of {book.address}, which held {err.available}",
            )
        elif gross >= v:  # short of live points only: the holder spent expired ones
            lot = "" if at is None else f" from lot {at}"
            self._flag(
                "expired-points-spent",
                ev,
                f"{frm} spent {v} points of {book.address}{lot} in epoch {epoch} but held "
                f"{err.available} live ({gross} with expired ones)",
            )
        return _force_take(book.lots.holding(frm), v, epoch, at)

    def _overflow(
        self, book: PointsBook, ev: Event, to: str, parts: Parts, err: LotOverflow
    ) -> None:
        self._flag("lot-overflow", ev, f"{to} of {book.address}: {err}")
        held = book.lots.holding(to)
        for x, a in parts:
            held.lots[x] = held.lots.get(x, 0) + a

    def _close_lots(self, book: PointsBook, timestamp: int | None) -> None:
        """Balances, expired totals and per-lot expiries as of the audited block."""
        if not book.clocked:
            book.balances = dict(book.held)
            book.expired, book.expired_by_epoch = 0, {}
            return
        if timestamp is None:
            raise ValueError(f"auditing {book.address} needs the audited block's time")
        epoch = book.epoch_at_finish = book.lots.clock.epoch(timestamp)
        book.balances = {}
        for h in book.held:
            held = book.lots.holdings.get(h)
            book.balances[h] = held.live(epoch) if held else 0
        by_epoch: dict[int, int] = {}
        for held in book.lots.holdings.values():
            for x, a in held.lots.items():
                if x <= epoch and a:
                    by_epoch[x] = by_epoch.get(x, 0) + a
        book.expired_by_epoch = dict(sorted(by_epoch.items()))
        book.expired = sum(by_epoch.values())


def _force_take(held: Holding, amount: int, epoch: int, at: int | None) -> Parts:
    """What the chain did though the model refused: the named lot or the live lots first,
    then expired lots (oldest first), then the permanent lot goes negative."""
    order = [at] if at is not None else [x for x, _ in held.live_lots(epoch)]
    order += sorted(x for x, a in held.lots.items() if x <= epoch and a > 0 and x != at)
    taken: Parts = []
    for x in order:
        part = min(held.lots.get(x, 0), amount)
        if part > 0:
            held.lots[x] -= part
            if not held.lots[x]:
                del held.lots[x]
            taken.append((x, part))
            amount -= part
    if amount:
        held.lots[PERMANENT] = held.lots.get(PERMANENT, 0) - amount
        taken.append((PERMANENT, amount))
    return taken


def _permanent(lots: Book, frm: str, to: str, v: int, mint: bool, burn: bool) -> None:
    """The model's moves when only the permanent lot exists (a short debit goes negative:
    the Transfer handler reports it as a negative balance)."""
    if not mint:
        src = lots.holding(frm).lots
        left = src.get(PERMANENT, 0) - v
        if left:
            src[PERMANENT] = left
        else:
            src.pop(PERMANENT, None)
    if not burn:
        dst = lots.holding(to).lots
        dst[PERMANENT] = dst.get(PERMANENT, 0) + v
        if not dst[PERMANENT]:
            del dst[PERMANENT]
    lots.supply += v if mint else -v if burn else 0
