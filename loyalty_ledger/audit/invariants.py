"""Invariants over a finished replay (the per-event rules live in `replay`)."""

from __future__ import annotations

from collections import Counter

from .state import Finding, LedgerState


def check_invariants(state: LedgerState) -> list[Finding]:
    """The books must balance: issued - redeemed - forfeited = totalSupply = sum of balances."""
    out: list[Finding] = []
    reg = state.members
    for book in state.points.values():
        key = f"points:{book.address}"
        held = sum(book.balances.values())
        if book.outstanding != book.total_supply:
            out.append(
                Finding(
                    "invariant",
                    "liability-mismatch",
                    key,
                    f"issued {book.issued} - redeemed {book.redeemed} - forfeited {book.forfeited} "
                    f"= {book.outstanding}, but totalSupply replayed from Transfers is "
                    f"{book.total_supply}",
                    book.outstanding,
                    book.total_supply,
                )
            )
        if book.minted != book.issued:
            out.append(
                Finding(
                    "invariant",
                    "mint-without-issue",
                    key,
                    f"Transfers minted {book.minted} but PointsIssued says {book.issued}",
                    book.issued,
                    book.minted,
                )
            )
        if book.burned != book.redeemed + book.forfeited:
            out.append(
                Finding(
                    "invariant",
                    "burn-without-reason",
                    key,
                    f"Transfers burned {book.burned} but redeemed + forfeited is "
                    f"{book.redeemed + book.forfeited}",
                    book.redeemed + book.forfeited,
                    book.burned,
                )
            )
        if held != book.total_supply:
            out.append(
                Finding(
                    "invariant",
                    "supply-not-held",
                    key,
                    f"balances sum to {held}, totalSupply is {book.total_supply}",
                    book.total_supply,
                    held,
                )
            )
        for addr, bal in book.balances.items():
            if bal > 0 and addr not in reg.members:
                out.append(_unregistered(state, key, addr, f"holds {bal} points"))
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
