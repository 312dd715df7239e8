"""Invariants over a finished replay (the per-event rules live in `replay`)."""

from __future__ import annotations

from collections import Counter

from .state import ExchangeBook, Finding, LedgerState, PointsBook


def check_invariants(state: LedgerState) -> list[Finding]:
    """The books must balance (see `_books`), every holder must be a member, every exchange's
    swap totals must agree on both sides."""
    out: list[Finding] = []
    reg = state.members
    for book in state.points.values():
        out.extend(_books(book))
        key = f"points:{book.address}"
        for addr, bal in book.held.items():
            if bal > 0 and addr not in reg.members:
                out.append(_unregistered(state, key, addr, f"holds {bal} points"))
    for ex in state.exchanges.values():
        out.extend(_exchange_totals(ex))
    for pbook in state.passes.values():
        key = f"pass:{pbook.address}"
        for rec in pbook.passes.values():
            if rec.owner not in reg.members:
                out.append(_unregistered(state, key, rec.owner, f"holds pass {rec.token_id}"))
        for owner, n in Counter(r.owner for r in pbook.passes.values()).items():
            if n > 1:
                out.append(
                    Finding(
                        "invariant",
                        "several-passes",
                        f"{key}/{owner}",
                        f"{owner} holds {n} passes (one per member)",
                        1,
                        n,
                    )
                )
    return out


def _unregistered(state: LedgerState, key: str, addr: str, what: str) -> Finding:
    reg = state.members
    if addr in reg.recovered_to:
        return Finding(
            "invariant",
            "balance-at-recovered-wallet",
            f"{key}/{addr}",
            f"recovered wallet {addr} still {what}",
        )
    if addr in reg.seen:
        # Deregistration leaves tokens where they are by design: worth a look, not a breach.
        return Finding(
            "invariant",
            "balance-at-deregistered",
            f"{key}/{addr}",
            f"deregistered {addr} {what}",
            severity="warning",
        )
    return Finding(
        "invariant", "balance-at-unregistered", f"{key}/{addr}", f"{addr}, never registered, {what}"
    )


def _f(key: str, code: str, detail: str, expected: object, actual: object) -> Finding:
    return Finding("invariant", code, key, detail, expected, actual)


def _books(book: PointsBook) -> list[Finding]:
    """issued + swapped in = redeemed + swapped out + forfeited + expired + outstanding, and
    totalSupply = issued + swapped in - redeemed - swapped out - forfeited = the sum of what
    every account holds (expired points included), lot by lot."""
    out: list[Finding] = []
    key = f"points:{book.address}"
    supply = book.supply_by_events
    if supply != book.total_supply:
        out.append(
            _f(
                key,
                "liability-mismatch",
                f"issued {book.issued} - redeemed {book.redeemed} - forfeited {book.forfeited} "
                f"= {supply}, but totalSupply replayed from Transfers is {book.total_supply}",
                supply,
                book.total_supply,
            )
        )
    if book.minted != book.issued:
        out.append(
            _f(
                key,
                "mint-without-issue",
                f"Transfers minted {book.minted} but PointsIssued says {book.issued}",
                book.issued,
                book.minted,
            )
        )
    if book.burned != book.redeemed + book.forfeited:
        out.append(
            _f(
                key,
                "burn-without-reason",
                f"Transfers burned {book.burned} but redeemed + forfeited is "
                f"{book.redeemed + book.forfeited}",
                book.redeemed + book.forfeited,
                book.burned,
            )
        )
    held = sum(book.held.values())
    if held != book.total_supply:
        out.append(
            _f(
                key,
                "supply-not-held",
                f"balances (expired points included) sum to {held}, totalSupply is "
                f"{book.total_supply}",
                book.total_supply,
                held,
            )
        )
    right = book.redeemed + book.forfeited + book.expired + book.outstanding
    if book.issued != right:
        out.append(
            _f(
                key,
                "books-unbalanced",
                f"issued + swapped in = {book.issued}, but redeemed + swapped out + forfeited "
                f"+ expired + outstanding = {book.redeemed} + {book.forfeited} + "
                f"{book.expired} + {book.outstanding} = {right}",
                book.issued,
                right,
            )
        )
    for holder, amount in book.held.items():
        h = book.lots.holdings.get(holder)
        in_lots = sum(h.lots.values()) if h else 0
        if in_lots != amount:
            out.append(
                _f(
                    f"{key}/lots/{holder}",
                    "lots-not-balance",
                    f"{holder}'s lots (expired ones included) hold {in_lots}, Transfers say "
                    f"{amount}",
                    amount,
                    in_lots,
                )
            )
    return out


def _exchange_totals(ex: ExchangeBook) -> list[Finding]:
    """Both sides of an exchange agree with its Swapped events; it stays within budget."""
    key = f"exchange:{ex.address}/{ex.id}"
    out: list[Finding] = []
    if ex.side_out != ex.burned:
        out.append(
            _f(
                key,
                "swap-totals-out",
                f"the from side burned {ex.side_out}, Swapped says {ex.burned}",
                ex.burned,
                ex.side_out,
            )
        )
    if ex.side_in != ex.issued:
        out.append(
            _f(
                key,
                "swap-totals-in",
                f"the to side issued {ex.side_in}, Swapped says {ex.issued}",
                ex.issued,
                ex.side_in,
            )
        )
    if ex.issued > ex.budget:
        out.append(
            _f(
                key,
                "over-budget",
                f"issued {ex.issued} of a budget of {ex.budget}",
                ex.budget,
                ex.issued,
            )
        )
    return out
