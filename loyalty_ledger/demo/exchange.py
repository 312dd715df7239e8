"""The demo's expiry policy and coalition exchange: after the demo world is seeded, one brand's
points start to expire after 12 epochs and members swap the other brand's points into it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.ledger import exchange, gasless, lots

DEMO_VALIDITY_EPOCHS = 12  # about a year with the default 30-day epochs


def _richest(
    w3: Web3, deployment: Deployment, brand: str, members: Sequence[LocalAccount], n: int
) -> list[tuple[LocalAccount, int]]:
    """The `n` members (among the first 50) holding the most of `brand`'s points."""
    token = contracts.points(w3, deployment.program(brand))
    pool = list(members[:50])
    with w3.batch_requests() as batch:
        for m in pool:
            batch.add(token.functions.balanceOf(m.address))  # type: ignore[arg-type]
        balances: list[Any] = list(batch.execute())
    ranked = sorted(zip(pool, (int(b) for b in balances), strict=True), key=lambda p: -p[1])
    return [(m, b) for m, b in ranked[:n] if b > 0]


def seed_exchange(
    *,
    w3: Web3,
    deployment: Deployment,
    operator: Sender,
    admins: Sequence[Sender],
    relayer: Sender,
    members: Sequence[LocalAccount],
    from_brand: str = "coffee",
    to_brand: str = "fashion",
    rate: tuple[int, int] = (5, 1),
    swaps: int = 5,
    say: Callable[[str], None] = print,
) -> dict[str, int]:
    """Set a 12-epoch validity on `to_brand`, open `from_brand` → `to_brand` (every admin in
    `admins` approves; one admin of both brands suffices) and relay a few members' swaps.

    Returns figures for the demo summary.
    """
    for sender in (operator, relayer, *admins):
        sender.reset_nonce()  # the demo's pipelines sign raw transactions with these keys
    say(f"{to_brand} points now expire after {DEMO_VALIDITY_EPOCHS} epochs; opening an exchange …")
    lots.set_validity_duration(
        sender=admins[-1], program=deployment.program(to_brand), epochs=DEMO_VALIDITY_EPOCHS
    )
    ex_id, _ = exchange.register_exchange(
        sender=operator,
        deployment=deployment,
        from_brand=from_brand,
        to_brand=to_brand,
        rate_from=rate[0],
        rate_to=rate[1],
        daily_cap=1_000,
        budget=100_000,
    )
    for admin in admins:
        exchange.approve_exchange(sender=admin, deployment=deployment, exchange_id=ex_id)
    issued = done = 0
    least = -(-rate[0] // rate[1])  # what buys one point
    for member, balance in _richest(w3, deployment, from_brand, members, swaps):
        amount = min(balance // 2, 500)
        if amount < least:
            continue
        s = gasless.relay_swap(
            relayer=relayer, deployment=deployment, signer=member, exchange_id=ex_id, amount=amount
        )
        issued, done = issued + s.issued, done + 1
    return {"exchange_id": ex_id, "swaps": done, "swapped_in": issued}
