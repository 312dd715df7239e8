"""A realistic demo program: two brands, thousands of members, months of seasonal purchases.

`simulate` is pure (a seeded random world); `seed_world` puts it on chain (batched issues,
pipelined passes, relayed gifts and redemptions) and writes the earn records, survey answers,
perks and a viewer key per brand in SQL. Purchase times are the orders' own (POS) times, so
months of history need no clock tricks on the node.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, insert
from web3 import Web3

from loyalty_ledger import auth, ledger
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment, add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.config import Settings
from loyalty_ledger.demo.access import DemoAccess, DemoCustomer, pick_customer
from loyalty_ledger.demo.exchange import seed_exchange
from loyalty_ledger.demo.pipeline import Forwarded, send_pipelined
from loyalty_ledger.demo.world import BRANDS, World, simulate
from loyalty_ledger.programme import earn, perks
from loyalty_ledger.store.insights_tables import T_SURVEY
from loyalty_ledger.store.offchain import EarnRecord, table
from loyalty_ledger.validate import reason_bytes, ref_bytes

from .programme import set_up_programme
from .today import earn_today

CHUNK = 300  # issueBatch items per transaction (gas stays under the 2**24 per-tx cap)


@dataclass(frozen=True)
class DemoResult:
    deployment: Deployment
    viewer_keys: dict[str, str]  # brand -> a viewer API key for the dashboard
    figures: dict[str, int]
    customer: DemoCustomer | None = None  # a member to sign in to the wallet as

    def access(self) -> DemoAccess:
        """What to print (and keep in the data dir) to get into this demo."""
        dep = self.deployment
        return DemoAccess(dep.chain_id, dep.registry, dict(self.viewer_keys), self.customer)


def seed_world(
    world: World,
    *,
    w3: Web3,
    operator: Sender,
    brand: Sender,
    engine: Engine,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Deploy the network and both brands, then put `world` on chain and in SQL."""
    t0 = time.monotonic()
    dep = deploy_network(w3, operator)
    for spec in BRANDS:
        add_brand(
            w3,
            operator,
            dep,
            brand_id=spec.brand_id,
            name=spec.name,
            symbol=spec.symbol,
            admin=brand.address,
            tiers=list(spec.tiers),
        )
        earn.set_rule(
            engine=engine,
            brand_id=spec.brand_id,
            currency="VND",
            amount_per_point=spec.amount_per_point,
            bonuses=dict(earn.DEFAULT_BONUSES),
        )
        set_up_programme(engine=engine, brand_id=spec.brand_id, tier_count=len(spec.tiers))
    addresses = [a.address for a in world.accounts]
    say(f"registering {len(addresses)} members …")
    for start in range(0, len(addresses), 400):
        ledger.register_members(
            sender=operator, deployment=dep, members=addresses[start : start + 400]
        )
    # Issue every earning with points, one issueBatch per chunk and reason.
    paying = [r for r in world.records if int(r["points"]) > 0]  # type: ignore[call-overload]
    say(f"issuing points for {len(paying)} purchases and bonuses (batched) …")
    groups: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for r in paying:
        groups[(str(r["brand_id"]), str(r["reason"]))].append(r)
    batches = []
    for (bid, reason), rows in groups.items():
        token = contracts.points(w3, dep.program(bid))
        for start in range(0, len(rows), CHUNK):
            part = rows[start : start + CHUNK]
            batches.append(
                (
                    token.functions.issueBatch(
                        [r["member"] for r in part],
                        [int(r["points"]) for r in part],  # type: ignore[call-overload]
                        reason_bytes(reason),
                        [ref_bytes(str(r.get("order_id") or r["action_id"])[:32]) for r in part],
                    ),
                    150_000 + 40_000 * len(part),
                )
            )
            for r in part:
                r["batch"] = len(batches) - 1
    receipts = send_pipelined(brand, batches)
    for r in paying:
        rc = receipts[int(r.pop("batch"))]  # type: ignore[call-overload]
        r["tx_hash"], r["block_number"] = rc["transactionHash"], int(rc["blockNumber"], 16)
    say(f"issuing {len(world.passes)} membership passes and upgrading tiers (forwarded) …")
    fw = Forwarded(w3, dep, brand)
    upgrades = [(bid, m, tier) for (bid, m), (tier, _x) in world.passes.items() if tier > 0]
    for (bid, member), (_tier, expiry) in world.passes.items():
        c = contracts.passes(w3, dep.program(bid))
        fw.add(brand.account, c.functions.issue(member, 0, expiry), 300_000)
    fw.flush()
    for bid, member, tier in upgrades:
        fw.add(
            brand.account,
            contracts.passes(w3, dep.program(bid)).functions.setTier(member, tier),
            120_000,
        )
    fw.flush()
    perk_ids = _perks(engine, dep)
    say(f"relaying {len(world.redemptions)} redemptions and {len(world.gifts)} gifts …")
    for bid, i, cost, k in world.redemptions:
        program = dep.program(bid)
        ref = perks.redemption_ref(perk_ids[(bid, k)])
        fw.add(
            world.accounts[i],
            ledger.redeem_call(w3=w3, program=program, amount=cost, ref=ref),
            150_000,
        )
    for bid, i, to, amount, memo in world.gifts:
        program = dep.program(bid)
        call = ledger.gift_call(
            w3=w3, program=program, to=world.accounts[to].address, amount=amount, memo=memo
        )
        fw.add(world.accounts[i], call, 150_000)
    for bid, m, n in world.forfeits:
        token = contracts.points(w3, dep.program(bid))
        fw.add(brand.account, token.functions.forfeit(m, n, reason_bytes("dormant")), 150_000)
    fw.flush()
    _write_sql(world, engine)
    keys = {
        spec.brand_id: auth.create_api_key(
            engine=engine,
            kind="brand",
            brand_id=spec.brand_id,
            roles=["viewer"],
            label="demo dashboard",
        )[1]
        for spec in BRANDS
    }
    figures = {
        "members": len(addresses),
        "earnings": len(world.records),
        "orders": sum(1 for r in world.records if r["reason"] == "purchase"),
        "surveys": len(world.surveys),
        "passes": len(world.passes),
        "upgrades": len(upgrades),
        "redemptions": len(world.redemptions),
        "gifts": len(world.gifts),
        "forfeits": len(world.forfeits),
    }
    figures.update(
        seed_exchange(
            w3=w3,
            deployment=dep,
            operator=operator,
            admins=[brand],
            relayer=brand,
            members=world.accounts,
            say=say,
        )
    )
    figures["orders_today"] = earn_today(
        engine=engine, brand=brand, deployment=dep, members=addresses, seed=len(addresses), say=say
    )
    figures["seconds"] = round(time.monotonic() - t0)
    return DemoResult(dep, keys, figures, pick_customer(world, w3, dep))


def _perks(engine: Engine, dep: Deployment) -> dict[tuple[str, int], int]:
    ids = {}
    for spec in BRANDS:
        for k, (name, cost) in enumerate(spec.perks):
            perk = perks.create_perk(
                engine=engine,
                deployment=dep,
                brand_id=spec.brand_id,
                values={
                    "name": name,
                    "description": f"{name} at {spec.name}",
                    "min_points": cost,
                    "point_cost": cost,
                },
            )
            ids[(spec.brand_id, k)] = int(perk["id"])
    return ids


def _write_sql(world: World, engine: Engine) -> None:
    t = table(EarnRecord)
    rows = [
        {
            "brand_id": r["brand_id"],
            "member": r["member"],
            "reason": r["reason"],
            "points": r["points"],
            "order_id": r.get("order_id"),
            "order_amount": r.get("order_amount"),
            "currency": r.get("currency"),
            "items_count": r.get("items_count"),
            "action_id": None if r["reason"] == "purchase" else r["action_id"],
            "idem_key": f"order:{r['order_id']}"
            if r["reason"] == "purchase"
            else f"action:{r['reason']}:{r['action_id']}",
            "status": "confirmed",
            "tx_hash": r.get("tx_hash"),
            "block_number": r.get("block_number"),
            "created_at": r["created_at"],
            "ordered_at": r["created_at"],  # the simulated order is recorded when it happens
        }
        for r in world.records
    ]
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(t), rows[start : start + 5000])
        if world.surveys:
            conn.execute(insert(T_SURVEY), world.surveys)


def seed_realistic_demo(
    w3: Web3,
    settings: Settings,
    *,
    members: int = 2000,
    months: int = 6,
    seed: int = 7,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """The main job's demo: simulate, then deploy and seed into settings' node and database."""
    from loyalty_ledger.store import make_engine, migrate

    say(f"simulating {members} members over {months} months …")
    world = simulate(members=members, months=months, seed=seed)
    assert settings.database_url is not None
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        return seed_world(
            world,
            w3=w3,
            operator=Sender.from_settings(w3, settings.key("operator"), settings, error_decoder()),
            brand=Sender.from_settings(w3, settings.key("brand"), settings, error_decoder()),
            engine=engine,
            say=say,
        )
    finally:
        engine.dispose()
