"""A small demo network: one brand, a handful of members, points issued, gifted and redeemed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from . import gasless, ledger
from .artifacts import error_decoder
from .chain import Sender
from .config import ANVIL_DEV_KEYS, Settings
from .deploy import Deployment, add_brand, deploy_network

DEMO_BRAND = "demo"
# Anvil dev accounts 3..8 play the customers (public keys, local chains only).
MEMBER_KEYS = ANVIL_DEV_KEYS[3:9]


@dataclass(frozen=True)
class DemoNetwork:
    """What the demo created, for the summary printed by the main job."""

    deployment: Deployment
    members: list[str]


def _sender(w3: Web3, settings: Settings, role: str) -> Sender:
    return Sender.from_settings(w3, settings.key(role), settings, error_decoder())


def seed_demo(w3: Web3, settings: Settings, say: Callable[[str], None] = print) -> DemoNetwork:
    """Deploy the network and brand `demo`, then give its members a short history."""
    operator, brand = _sender(w3, settings, "operator"), _sender(w3, settings, "brand")
    say("deploying the network (registry, forwarder) …")
    dep = deploy_network(w3, operator)
    program = add_brand(
        w3,
        operator,
        dep,
        brand_id=DEMO_BRAND,
        name="Demo Coffee Points",
        symbol="BEAN",
        admin=brand.address,
        tiers=["Bronze", "Silver", "Gold"],
    )
    customers: list[LocalAccount] = [Account.from_key(k) for k in MEMBER_KEYS]
    members = [c.address for c in customers]
    say(f"registering {len(members)} members and issuing their first points …")
    ledger.register_members(sender=operator, deployment=dep, members=members)
    items = [
        ledger.BatchItem(member=m, amount=100 * (i + 1), ref=f"order-{1000 + i}")
        for i, m in enumerate(members)
    ]
    ledger.issue_points_batch(sender=brand, program=program, items=items, reason="purchase")
    ledger.issue_points(
        sender=brand, program=program, member=members[0], amount=50, reason="review", ref="review-1"
    )
    for member, tier in zip(members[:3], (0, 1, 2), strict=True):
        ledger.issue_pass(sender=brand, program=program, member=member, tier=tier)
    say("a customer gifts points and another redeems, both gasless (relayed) …")
    gift = ledger.gift_call(w3=w3, program=program, to=members[1], amount=25, memo="enjoy!")
    gasless.relay_call(relayer=brand, deployment=dep, signer=customers[0], call=gift)
    redeem = ledger.redeem_call(w3=w3, program=program, amount=40, ref="free-latte")
    gasless.relay_call(relayer=brand, deployment=dep, signer=customers[2], call=redeem)
    return DemoNetwork(deployment=dep, members=members)
