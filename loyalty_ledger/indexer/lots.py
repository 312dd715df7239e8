"""Point expiry in derived state: the ERC-7818 lots of programs with an expiry clock.

A pure fold beside `derive.apply`, over the same `State`. The rules themselves are
`loyalty_ledger.expiry` (`Holding.take` / `take_at` / `give`); this module only maps them to
rows: `point_lot(token, holder, expiry_epoch)` → expires_at, amount, and the clock and policy
columns of `contract_state`. A holder's permanent points are `balance.amount` minus their lots
that are still in the balance (expiry epoch above `swept_epoch`), so they are never stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..expiry import PERMANENT, Clock, Holding, NotEnoughPoints, Parts, expiry_for
from .errors import ExpiryMismatch
from .state import ZERO

if TYPE_CHECKING:
    from .decode import Decoded
    from .state import Key, Row, State

LOT = "point_lot"
Pending = dict[tuple[str, str], tuple[str, str, int, int]]
"""TransferAtEpoch waiting for its Transfer: (contract, tx) → (from, to, epoch, value)."""


def clock_of(cs: Row | None) -> Clock | None:
    """The program's clock, or None while it never had an expiry policy."""
    if cs is None or not cs.get("epoch_length"):
        return None
    return Clock(cs["epoch_zero"], cs["epoch_length"])


def set_policy(state: State, ev: Decoded, defaults: Row) -> None:
    """ExpiryPolicySet: the clock (immutable), the validity for new lots; on the first policy,
    `swept_epoch` starts at the current epoch (no lot can expire at or before it)."""
    a, c, b = ev.args, ev.contract, ev.block_number
    old = state.get("contract_state", (c,))
    row = dict(defaults) if old is None else dict(old)
    first = not row["epoch_length"]
    row.update(
        validity_epochs=a["validityEpochs"],
        epoch_zero=a["epochZero"],
        epoch_length=a["epochLength"],
    )
    if first:
        clock = Clock(a["epochZero"], a["epochLength"])
        now = a["fromEpoch"] if ev.block_time is None else clock.epoch(ev.block_time)
        row["swept_epoch"] = max(0, min(now, a["fromEpoch"]))
    state.put("contract_state", (c,), row, b)


def _holding(state: State, c: str, who: str, swept: int, balance: int) -> Holding:
    """`who`'s lots still in the balance (expiry above `swept`) and permanent points: all a
    debit can take from (Holding.take skips the lots that expired since the last sweep)."""
    lots: dict[int, int] = {}
    in_balance = 0
    for key in state.keys_of(LOT, (c, who)):
        if key[2] > swept:
            row = state.get(LOT, key)
            if row is not None:
                lots[key[2]] = row["amount"]
                in_balance += row["amount"]
    permanent = balance - in_balance
    if permanent < 0:
        raise ExpiryMismatch(
            f"{who} holds {balance} points of {c} but lots of {in_balance} are live in the mirror"
        )
    if permanent:
        lots[PERMANENT] = permanent
    return Holding(lots)


def _write(
    state: State, c: str, who: str, held: Holding, parts: Parts, clock: Clock, b: int
) -> None:
    """Store `who`'s lots that `parts` touched (the permanent lot is implied by the balance)."""
    for x, _ in parts:
        if x != PERMANENT:
            amount = held.lots.get(x, 0)
            row = {"expires_at": clock.start(x), "amount": amount} if amount else None
            state.put(LOT, (c, who, x), row, b)


def _credit(state: State, c: str, to: str, parts: Parts, clock: Clock, b: int) -> None:
    """Give `to` the expiring `parts`: only the lots they touch are read."""
    parts = [(x, a) for x, a in parts if x != PERMANENT]
    if not parts:
        return
    rows = {x: state.get(LOT, (c, to, x)) for x, _ in parts}
    got = Holding({x: r["amount"] for x, r in rows.items() if r is not None})
    got.give(parts)
    _write(state, c, to, got, parts, clock, b)


def move(state: State, ev: Decoded, cs: Row, balance: int, pending: Pending) -> None:
    """An ERC-20 Transfer of a program with a clock: issue (new lot under the current validity),
    burn (soonest-to-expire first) or transfer (the recipient gets the same lots).

    `balance` is the sender's `balance.amount` before this Transfer (unused for an issue).
    """
    clock = clock_of(cs)
    if clock is None:
        return
    a, c, b = ev.args, ev.contract, ev.block_number
    frm, to, v = a["from"], a["to"], a["value"]
    if ev.block_time is None:
        raise ExpiryMismatch(f"no block timestamp for block {b}: cannot place the points of {c}")
    at = pending.pop((c, ev.tx_hash), None)
    if frm == ZERO:
        parts = [(expiry_for(clock, cs["validity_epochs"], ev.block_time), v)]
    else:
        epoch = clock.epoch(ev.block_time)
        held = _holding(state, c, frm, cs["swept_epoch"], balance)
        try:
            if at is not None and at[:2] == (frm, to) and at[3] == v:
                parts = held.take_at(at[2], v, epoch)
            else:
                parts = held.take(v, epoch)
        except NotEnoughPoints as exc:
            raise ExpiryMismatch(
                f"block {b} tx {ev.tx_hash}: {frm} moves {v} points of {c} but the mirror's "
                f"lots give {exc.available} at epoch {epoch}"
            ) from None
        _write(state, c, frm, held, parts, clock, b)
    if to != ZERO:
        _credit(state, c, to, parts, clock, b)


def at_epoch(pending: Pending, ev: Decoded) -> None:
    """TransferAtEpoch: the next Transfer of this transaction moves lot `epoch` only."""
    a = ev.args
    pending[(ev.contract, ev.tx_hash)] = (a["from"], a["to"], a["epoch"], a["value"])


def lot_holders(ev: Decoded) -> list[Key]:
    """The (token, holder) lot sets a Transfer of a clocked program reads."""
    a = ev.args
    return [(ev.contract, w) for w in (a["from"], a["to"]) if w != ZERO]


def expired_parts(lots: dict[Key, Any], swept: int, epoch: int) -> dict[str, int]:
    """Per holder, the points of `lots` ((token, holder, x) → amount) that expired in
    (swept, epoch]: what the sweep takes out of `balance.amount`."""
    out: dict[str, int] = {}
    for (_, holder, x), amount in lots.items():
        if swept < x <= epoch and amount:
            out[holder] = out.get(holder, 0) + amount
    return out
