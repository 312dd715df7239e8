"""Replay rules of the coalition exchange, mixed into `replay.Replayer`.

A swap is one transaction: brand A's `exchangeOut` (Transfer to zero + PointsRedeemed with `by`
the exchange, `ref` = bytes32(id)), brand B's `exchangeIn` (Transfer from zero + PointsIssued
"exchange", same ref), then the exchange's Swapped. The sides are recorded as they come and
paired with the Swapped; a side left unpaired at the end of its transaction, or a Swapped
without its sides, is a breach. Swapped itself must respect the exchange's terms: open,
registered rates, rounding that never creates points, the member's daily cap, the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_hash.auto import keccak

from .decode import Event, bytes32_text
from .state import ExchangeBook, Finding, LedgerState, PointsBook

EXCHANGE_ROLE = "0x" + keccak(b"EXCHANGE_ROLE").hex()
EXCHANGE_REASON = "exchange"
DAY = 86_400
ZERO32 = "0x" + "00" * 32


@dataclass(slots=True)
class SwapSide:
    """One points-contract half of a swap, waiting for its Swapped."""

    out: bool  # True: burned on the from side; False: issued on the to side
    token: str
    member: str
    amount: int
    ref: str
    by: str | None
    ev: Event


def ref_of(exchange_id: int) -> str:
    """The `ref` both hooks receive: the exchange id as a big-endian bytes32."""
    return "0x" + f"{exchange_id:064x}"


class ExchangeRules:
    """The `_on_exchange_*` handlers and the swap-side bookkeeping of the points handlers."""

    if TYPE_CHECKING:
        state: LedgerState

        def _breach(self, code: str, ev: Event, detail: str) -> Finding: ...

    _sides: list[SwapSide]

    def _flag_x(self, code: str, ev: Event, detail: str) -> None:
        self.state.findings.append(self._breach(code, ev, detail))

    # -- sides (called by the points handlers) --------------------------------------------

    def _is_exchange(self, token: str, account: str) -> bool:
        return account in self.state.ever_role.get((token, EXCHANGE_ROLE), ())

    def _swap_out(self, book: PointsBook, ev: Event) -> bool:
        """A PointsRedeemed by an exchange-role holder: a swap's burn."""
        a = ev.args
        if not self._is_exchange(book.address, a["by"]):
            return False
        book.swapped_out += a["amount"]
        self._sides.append(
            SwapSide(True, book.address, a["member"], a["amount"], a["ref"], a["by"], ev)
        )
        return True

    def _swap_in(self, book: PointsBook, ev: Event) -> bool:
        """A PointsIssued for reason "exchange": a swap's issue."""
        a = ev.args
        if bytes32_text(a["reason"]) != EXCHANGE_REASON:
            return False
        book.swapped_in += a["amount"]
        self._sides.append(
            SwapSide(False, book.address, a["member"], a["amount"], a["ref"], None, ev)
        )
        return True

    def _flush_exchange(self) -> None:
        for side in self._sides:
            what = (
                f"{side.amount} points of {side.member} burned by exchange {side.by}"
                if side.out
                else f"{side.amount} points issued to {side.member} for reason exchange"
            )
            self._flag_x("swap-side-without-swap", side.ev, what + " with no Swapped")
        self._sides.clear()

    # -- the exchange's events ------------------------------------------------------------

    def _exchange(self, ev: Event) -> ExchangeBook | None:
        ex = self.state.exchanges.get((ev.log.address, ev.args["id"]))
        if ex is None:
            self._flag_x(
                "unknown-exchange", ev, f"exchange {ev.args['id']} of {ev.log.address} unknown"
            )
        return ex

    def _on_exchange_ExchangeRegistered(self, ev: Event) -> None:
        a, addr = ev.args, ev.log.address
        known = sum(1 for (x, _) in self.state.exchanges if x == addr)
        if a["id"] != known or a["fromBrand"] == a["toBrand"]:
            self._flag_x("exchange-registration", ev, f"exchange id {a['id']} after {known}")
        self.state.exchanges[(addr, a["id"])] = ExchangeBook(
            addr,
            a["id"],
            a["fromBrand"],
            a["toBrand"],
            a["rateFrom"],
            a["rateTo"],
            a["dailyCap"],
            a["budget"],
            ev.log.block_number,
        )

    def _on_exchange_ExchangeApproved(self, ev: Event) -> None:
        ex = self._exchange(ev)
        if ex is None:
            return
        brand = ev.args["brandId"]
        if brand == ex.from_brand:
            ex.approved_from = True
        elif brand == ex.to_brand:
            ex.approved_to = True
        else:
            self._flag_x("exchange-approval", ev, f"brand {brand} is not a side of {ex.id}")

    def _on_exchange_ExchangeOpened(self, ev: Event) -> None:
        ex = self._exchange(ev)
        if ex is None:
            return
        if not (ex.approved_from and ex.approved_to):
            self._flag_x("exchange-approval", ev, f"exchange {ex.id} opened before both approved")
        ex.opened_block = ev.log.block_number

    def _on_exchange_ExchangePauseSet(self, ev: Event) -> None:
        ex, a = self._exchange(ev), ev.args
        if ex is None:
            return
        if a["brandId"] == ex.from_brand:
            ex.paused_from = a["paused"]
        elif a["brandId"] == ex.to_brand:
            ex.paused_to = a["paused"]
        elif a["brandId"] == ZERO32:
            ex.paused_operator = a["paused"]
        else:
            self._flag_x("exchange-pause", ev, f"brand {a['brandId']} is not a side of {ex.id}")

    def _on_exchange_Swapped(self, ev: Event) -> None:
        ex, a = self._exchange(ev), ev.args
        if ex is None:
            return
        amount_in, amount_out, member = a["amountIn"], a["amountOut"], a["member"]
        terms = (ex.from_brand, ex.to_brand, ex.rate_from, ex.rate_to)
        if (a["fromBrand"], a["toBrand"], a["rateFrom"], a["rateTo"]) != terms:
            self._flag_x("swap-terms", ev, f"swap on {ex.id} does not use its registered terms")
        if not ex.is_open:
            self._flag_x("swap-while-closed", ev, f"swap on exchange {ex.id} while not open")
        need = -(-amount_out * ex.rate_from // ex.rate_to)  # ceil
        if amount_out == 0 or amount_in != need:
            self._flag_x(
                "swap-rounding",
                ev,
                f"{amount_in} burned for {amount_out}: the rate {ex.rate_from}->{ex.rate_to} "
                f"burns exactly {need}",
            )
        t = ev.log.block_time
        if t is not None:
            key = (member, t // DAY)
            spent = ex.spent[key] = ex.spent.get(key, 0) + amount_in
            if spent > ex.daily_cap:
                self._flag_x(
                    "swap-over-daily-cap",
                    ev,
                    f"{member} spent {spent} on exchange {ex.id} that day, cap {ex.daily_cap}",
                )
        if ex.issued + amount_out > ex.budget:
            self._flag_x(
                "swap-over-budget", ev, f"exchange {ex.id} issues past its budget {ex.budget}"
            )
        ex.swaps += 1
        ex.burned += amount_in
        ex.issued += amount_out
        self._pair(ev, ex, member)

    def _pair(self, ev: Event, ex: ExchangeBook, member: str) -> None:
        progs = self.state.programs
        from_pts = progs[ex.from_brand].points if ex.from_brand in progs else None
        to_pts = progs[ex.to_brand].points if ex.to_brand in progs else None
        ref = ref_of(ex.id)
        out = next(
            (
                s
                for s in self._sides
                if s.out and (s.token, s.member, s.ref, s.by) == (from_pts, member, ref, ex.address)
            ),
            None,
        )
        inn = next(
            (
                s
                for s in self._sides
                if not s.out and (s.token, s.member, s.ref) == (to_pts, member, ref)
            ),
            None,
        )
        for side, label in ((out, "burn"), (inn, "issue")):
            if side is None:
                self._flag_x("swap-side-missing", ev, f"swap on {ex.id} without its {label}")
            else:
                self._sides.remove(side)
        ex.side_out += out.amount if out else 0
        ex.side_in += inn.amount if inn else 0
