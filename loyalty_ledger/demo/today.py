"""The demo's own day at the tills: fresh purchases priced by each brand's earn rules through
the same earn path as the API (`earn.earn_purchases`), so the console's earnings by rule,
channel and store, and an earning's explanation, show the rules at work. The simulated history
before it was issued at the flat rate (it predates the rules)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine

from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.programme import earn
from loyalty_ledger.programme.rules.model import CHANNELS

from .world import BRANDS

STORES = ("HN-01", "HN-02", "HCM-01", "DN-01")
ORDERS_PER_BRAND = 120  # at most; one for every 16 members, at least 10


def orders_per_brand(members: int) -> int:
    """Today's purchases per brand for a demo of `members` (a day's share of its history)."""
    return min(ORDERS_PER_BRAND, max(10, members // 16))


def todays_orders(
    members: Sequence[str], *, brand_id: str, aov: int, count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """`count` purchases made now (the programme began minutes ago: an order may not be older)
    by members picked at random, across the channels and stores in turn."""
    orders = []
    for n in range(count):
        channel = CHANNELS[n % len(CHANNELS)]  # in turn: every channel and store has orders
        orders.append(
            {
                "member": rng.choice(members),
                "order_id": f"today-{brand_id}-{n:04d}",
                "amount": max(1_000, int(round(aov * rng.lognormvariate(0, 0.45), -3))),
                "currency": "VND",
                "items": rng.randint(1, 5),
                "channel": channel,
                "store_id": STORES[n // len(CHANNELS) % len(STORES)]
                if channel == "in_store"
                else None,
            }
        )
    return orders


def earn_today(
    *,
    engine: Engine,
    brand: Sender,
    deployment: Deployment,
    members: Sequence[str],
    seed: int,
    say: Callable[[str], None] = print,
) -> int:
    """Each brand's purchases of today through its rules; the number of orders earned."""
    rng, done, count = random.Random(seed), 0, orders_per_brand(len(members))
    say(f"today at the tills: {count} purchases per brand, priced by the brands' rules …")
    for spec in BRANDS:
        orders = todays_orders(members, brand_id=spec.brand_id, aov=spec.aov, count=count, rng=rng)
        got = earn.earn_purchases(
            engine=engine, sender=brand, program=deployment.program(spec.brand_id), orders=orders
        )
        done += sum(1 for e in got if not e.duplicate)
    return done
