"""The view calls of point expiry and the coalition exchange that `verify_chain` runs.

Per program with an expiry policy: `validityDuration`, `epochZero`, `epochLength`,
`currentEpoch`, and per holder `lotsOf` (live lots, soonest first) and `permanentBalanceOf`
(programs without a policy hold permanent points only, so their `balanceOf` says it all).
Per exchange: `exchangeOf(id)` (terms, approvals, pauses, issued) and `exchangeCount()`.
"""

from __future__ import annotations

from collections import Counter

from .state import ExchangeBook, LedgerState
from .viewcall import ViewCall, _addr, _u, _uint, selector

_SEL = {
    s.split("(")[0]: selector(s)
    for s in [
        "validityDuration()",
        "epochZero()",
        "epochLength()",
        "currentEpoch()",
        "lotsOf(address)",
        "permanentBalanceOf(address)",
        "exchangeOf(uint256)",
        "exchangeCount()",
    ]
}


def parse_lots(h: str) -> list[list[int]]:
    """`(uint256[] expiries, uint256[] amounts)` as [[expiries], [amounts]]."""
    w = h[2:]

    def word(i: int) -> int:
        return int(w[64 * i : 64 * i + 64], 16)

    out = []
    for head in (0, 1):
        at = word(head) // 32
        n = word(at)
        out.append([word(at + 1 + k) for k in range(n)])
    return out


def parse_exchange(h: str) -> list[object]:
    """The static `Exchange` struct: two bytes32, five uint128, five bools."""
    w = h[2:]
    words = [w[64 * i : 64 * i + 64] for i in range(12)]
    return [
        "0x" + words[0],
        "0x" + words[1],
        *(int(x, 16) for x in words[2:7]),
        *(int(x, 16) != 0 for x in words[7:12]),
    ]


def expected_exchange(ex: ExchangeBook) -> list[object]:
    return [
        ex.from_brand,
        ex.to_brand,
        ex.rate_from,
        ex.rate_to,
        ex.daily_cap,
        ex.budget,
        ex.issued,
        ex.approved_from,
        ex.approved_to,
        ex.paused_from,
        ex.paused_to,
        ex.paused_operator,
    ]


def plan_book_calls(state: LedgerState) -> list[ViewCall]:
    """The expiry and exchange views the replayed state makes a claim about."""
    s, calls = _SEL, []
    for book in state.points.values():
        p = book.address
        calls.append(
            ViewCall(
                f"points:{p}/validityDuration", p, s["validityDuration"], book.lots.validity, _u
            )
        )
        if not book.clocked:
            continue
        clock = book.lots.clock
        calls.append(ViewCall(f"points:{p}/epochZero", p, s["epochZero"], clock.zero, _u))
        calls.append(ViewCall(f"points:{p}/epochLength", p, s["epochLength"], clock.length, _u))
        calls.append(
            ViewCall(f"points:{p}/currentEpoch", p, s["currentEpoch"], book.epoch_at_finish, _u)
        )
        for holder in book.balances:
            expiries, amounts, permanent = book.lots_of(holder)
            calls.append(
                ViewCall(
                    f"points:{p}/lots/{holder}",
                    p,
                    s["lotsOf"] + _addr(holder),
                    [expiries, amounts],
                    parse_lots,
                )
            )
            calls.append(
                ViewCall(
                    f"points:{p}/permanent/{holder}",
                    p,
                    s["permanentBalanceOf"] + _addr(holder),
                    permanent,
                    _u,
                )
            )
    counts = Counter(addr for addr, _ in state.exchanges)
    for (addr, i), ex in sorted(state.exchanges.items()):
        calls.append(
            ViewCall(
                f"exchange:{addr}/{i}",
                addr,
                s["exchangeOf"] + _uint(i),
                expected_exchange(ex),
                parse_exchange,
            )
        )
    for addr, n in sorted(counts.items()):
        calls.append(ViewCall(f"exchange:{addr}/count", addr, s["exchangeCount"], n, _u))
    return calls
