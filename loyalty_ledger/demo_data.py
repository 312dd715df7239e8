"""A realistic demo program: two brands, thousands of members, months of seasonal purchases.

`simulate` is pure (a seeded random world); `seed_world` puts it on chain (batched issues,
pipelined passes, relayed gifts and redemptions) and writes the earn records, survey answers,
perks and a viewer key per brand in SQL. Purchase times are the orders' own (POS) times, so
months of history need no clock tricks on the node.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, insert
from web3 import Web3

from . import auth, contracts, earn, gasless, ledger, perks
from .artifacts import error_decoder
from .chain import Sender
from .config import Settings
from .demo_exchange import seed_exchange
from .deploy import Deployment, add_brand, deploy_network
from .errors import LedgerError
from .insights.period import month_index, month_start
from .store.insights_tables import T_SURVEY
from .store.offchain import EarnRecord, table
from .validate import reason_bytes, ref_bytes

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
CHUNK = 300  # issueBatch items per transaction (gas stays under the 2**24 per-tx cap)
ONE_PER_BLOCK = 15_500_000
ZERO = "0x0000000000000000000000000000000000000000"
BURST = 200  # signed transactions per JSON-RPC batch


@dataclass(frozen=True)
class BrandSpec:
    brand_id: str
    name: str
    symbol: str
    tiers: tuple[str, ...]
    tier_spend: tuple[int, ...]  # spend (VND) that reaches each tier above the first
    amount_per_point: int
    aov: int  # typical order value, VND
    items: float  # typical items per order
    rate: float  # purchases per active month
    churn: float  # chance an active member stops after each month
    share: float  # share of members who join this brand
    scores: tuple[float, float, float]  # NPS answer odds: promoter, passive, detractor
    season: dict[int, float]  # calendar month -> demand factor
    perks: tuple[tuple[str, int], ...]  # (name, point cost)


BRANDS = (
    BrandSpec(
        "coffee",
        "Highland Beans",
        "BEAN",
        ("Bronze", "Silver", "Gold"),
        (1_500_000, 4_000_000),
        10_000,
        55_000,
        1.6,
        2.2,
        0.09,
        0.85,
        (0.52, 0.30, 0.18),
        {12: 1.35, 1: 1.2, 2: 1.1, 6: 0.85, 7: 0.8, 8: 0.85},
        (("Free drink", 30), ("Cake", 60)),
    ),
    BrandSpec(
        "fashion",
        "Saigon Threads",
        "SGT",
        ("Member", "Silver", "Gold", "Platinum"),
        (2_000_000, 5_000_000, 9_000_000),
        50_000,
        750_000,
        2.4,
        0.45,
        0.06,
        0.45,
        (0.36, 0.34, 0.30),
        {11: 1.5, 12: 1.7, 1: 1.9, 2: 1.2, 7: 0.7},
        (("10% voucher", 40), ("Free alteration", 25)),
    ),
)
MEMOS = ("happy birthday!", "coffee on me", "thanks!", "for you", "chúc mừng năm mới")


@dataclass
class World:
    """Everything the demo will create, computed before anything is sent."""

    accounts: list[LocalAccount]
    records: list[dict[str, object]] = field(default_factory=list)  # earn records
    surveys: list[dict[str, object]] = field(default_factory=list)
    passes: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # tier, expiry
    redemptions: list[tuple[str, int, int, int]] = field(default_factory=list)  # b, i, pts, perk#
    gifts: list[tuple[str, int, int, int, str]] = field(default_factory=list)
    forfeits: list[tuple[str, str, int]] = field(default_factory=list)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def simulate(*, members: int, months: int, seed: int = 7, now: int | None = None) -> World:
    """A deterministic world of `members` customers over the last `months` calendar months."""
    rng = random.Random(seed)
    now = int(time.time()) if now is None else now
    last = month_index(now)
    first = last - months + 1
    keys = [rng.randrange(1, SECP256K1_N) for _ in range(members)]
    w = World(accounts=[Account.from_key(k.to_bytes(32, "big")) for k in keys])
    seq = 0
    for spec in BRANDS:
        joined: list[int] = []
        balance: dict[int, int] = defaultdict(int)
        for i, acct in enumerate(w.accounts):
            if rng.random() > spec.share:
                continue
            # A third were members before the window opened; the rest join month by month.
            jm = first if rng.random() < 0.33 else rng.randint(first, last)
            jts = rng.randint(month_start(jm), min(month_start(jm + 1), now) - 1)
            taste = rng.lognormvariate(0, 0.6)
            spend, orders, churned, m = 0, 0, False, jm
            addr = acct.address

            def rec(
                reason: str,
                ts: int,
                points: int,
                i: int = i,
                addr: str = addr,
                spec: BrandSpec = spec,
                balance: dict[int, int] = balance,
                **kw: object,
            ) -> None:
                nonlocal seq
                seq += 1
                w.records.append(
                    {
                        "brand_id": spec.brand_id,
                        "member": addr,
                        "reason": reason,
                        "points": points,
                        "created_at": ts,
                        "seq": seq,
                        "index": i,
                        **kw,
                    }
                )
                balance[i] += points

            rec("signup", jts, 100, action_id=f"signup-{addr}")
            while m <= last and not churned:
                lo, hi = max(month_start(m), jts), min(month_start(m + 1), now)
                share = (hi - lo) / (month_start(m + 1) - month_start(m))
                factor = spec.season.get(m % 12 + 1, 1.0)
                for _ in range(_poisson(rng, spec.rate * taste * factor * share)):
                    amount = max(1_000, int(round(spec.aov * rng.lognormvariate(0, 0.45), -3)))
                    items = 1 + _poisson(rng, spec.items - 1)
                    spend += amount
                    orders += 1
                    rec(
                        "purchase",
                        rng.randint(lo, hi - 1),
                        amount // spec.amount_per_point,
                        order_id=f"{spec.brand_id}-{seq + 1:07d}",
                        order_amount=amount,
                        items_count=items,
                        currency="VND",
                    )
                churned = m < last and rng.random() < spec.churn
                m += 1
            active_until = month_start(m) if churned else now
            if rng.random() < 0.25:
                rec("review", rng.randint(jts, active_until - 1), 20, action_id=f"review-{seq}")
            if joined and jm > first and rng.random() < 0.15:
                ref = rng.choice(joined)
                rec_ref = {"index": ref, "member": w.accounts[ref].address}
                seq += 1
                w.records.append(
                    {
                        "brand_id": spec.brand_id,
                        "reason": "referral",
                        "points": 50,
                        "created_at": jts,
                        "seq": seq,
                        "action_id": addr,
                        **rec_ref,
                    }
                )
                balance[ref] += 50
            if rng.random() < 0.4:
                odds = spec.scores if not churned else (0.15, 0.3, 0.55)
                score = rng.choices(((9, 10), (7, 8), tuple(range(7))), weights=odds)[0]
                ts = rng.randint(jts, active_until - 1)
                sid = f"nps-{ts // 86400 // 30}"
                w.surveys.append(
                    {
                        "brand_id": spec.brand_id,
                        "survey_id": sid,
                        "member": addr,
                        "score": rng.choice(score),
                        "comment": "",
                        "answered_at": ts,
                        "created_at": ts,
                    }
                )
                rec("survey", ts, 10, action_id=f"{sid}:{addr}")
            joined.append(i)
            if orders >= 3 or spend >= spec.tier_spend[0]:
                tier = sum(1 for t in spec.tier_spend if spend >= t)
                expiry = now + (7 if churned else 365) * 86400
                w.passes[(spec.brand_id, addr)] = (tier, expiry)
        for i, pts in list(balance.items()):
            if pts >= 30 and rng.random() < 0.3:
                k = rng.randrange(len(spec.perks))
                cost = spec.perks[k][1]
                if pts >= cost:
                    w.redemptions.append((spec.brand_id, i, cost, k))
                    balance[i] -= cost
        for i, pts in list(balance.items()):
            if pts >= 20 and rng.random() < 0.06:
                to = rng.choice(joined)
                if to != i:
                    amount = max(1, pts // rng.randint(3, 6))
                    w.gifts.append((spec.brand_id, i, to, amount, rng.choice(MEMOS)))
                    balance[i] -= amount
                    balance[to] += amount
        if spec.brand_id == "coffee":  # the brand writes off long-dormant accounts
            for i, pts in balance.items():
                if pts > 0 and rng.random() < 0.04:
                    w.forfeits.append((spec.brand_id, w.accounts[i].address, pts))
    return w


def _rpc_batch(url: str, method: str, params: list[list[Any]]) -> list[Any]:
    """One JSON-RPC batch over HTTP (web3 does not batch eth_sendRawTransaction)."""
    body = [
        {"jsonrpc": "2.0", "id": n, "method": method, "params": p} for n, p in enumerate(params)
    ]
    answers = requests.post(url, json=body, timeout=120).json()
    if isinstance(answers, dict):
        raise LedgerError(f"node rejected a batch: {answers.get('error')}")
    by_id = {a["id"]: a for a in answers}
    out = []
    for n in range(len(params)):
        a = by_id[n]
        if "error" in a:
            raise LedgerError(f"node rejected a demo transaction: {a['error'].get('message')}")
        out.append(a["result"])
    return out


def _pipeline(sender: Sender, calls: list[tuple[Any, int]]) -> list[dict[str, Any]]:
    """Send many calls fast: sign locally with consecutive nonces and a fixed gas limit, send
    them in JSON-RPC batches, then read the receipts in batches (a revert raises)."""
    if not calls:
        return []
    w3 = sender.w3
    url = str(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    chain_id = w3.eth.chain_id
    base = int(w3.eth.get_block("latest").get("baseFeePerGas") or 0)
    fees = {"maxFeePerGas": 4 * base + 10**9, "maxPriorityFeePerGas": 10**9}
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    raw = []
    for n, (call, gas) in enumerate(calls):
        tx: dict[str, Any] = {
            "to": call.address,
            "data": call._encode_transaction_data(),
            "value": 0,
            # Above half a block, so each block holds one of them: full blocks would raise the
            # base fee 12.5% a block and strand the tail of the burst (below the 2**24 cap).
            "gas": max(gas, ONE_PER_BLOCK),
            "nonce": nonce + n,
            "chainId": chain_id,
            **fees,
        }
        raw.append("0x" + bytes(sender.account.sign_transaction(tx).raw_transaction).hex())
    hashes: list[str] = []
    try:
        # One request per transaction, in nonce order: a node may handle the parts of a
        # JSON-RPC batch concurrently, and a nonce seen out of order can strand the rest.
        for r in raw:
            hashes += _rpc_batch(url, "eth_sendRawTransaction", [[r]])
    finally:
        sender.reset_nonce()  # the sender's own counter did not see these
    got: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 120
    next_nonce, progress_at, seen = nonce + len(raw), time.monotonic(), 0
    while len(got) < len(hashes):
        pending = [h for h in hashes if h not in got]
        for start in range(0, len(pending), BURST):
            chunk = pending[start : start + BURST]
            for h, rc in zip(
                chunk,
                _rpc_batch(url, "eth_getTransactionReceipt", [[h] for h in chunk]),
                strict=True,
            ):
                if rc is None:
                    continue
                if int(rc["status"], 16) != 1:
                    sender.wait(h)  # decodes and raises the revert reason
                got[h] = rc
        if len(got) < len(hashes):
            if time.monotonic() > deadline:
                raise LedgerError(f"{len(hashes) - len(got)} demo transactions not mined in time")
            if len(got) > seen:
                seen, progress_at = len(got), time.monotonic()
            elif time.monotonic() - progress_at > 0.5:
                # An auto-mining node mines when a transaction arrives and packs blocks by gas
                # limit, so a burst can leave a tail in the pool: a 0-value self-transfer (plain
                # eth_sendRawTransaction) makes it mine again.
                nudge: dict[str, Any] = {
                    "to": sender.address,
                    "value": 0,
                    "gas": 21_000,
                    "nonce": next_nonce,
                    "chainId": chain_id,
                    **fees,
                }
                signed = sender.account.sign_transaction(nudge).raw_transaction
                _rpc_batch(url, "eth_sendRawTransaction", [["0x" + bytes(signed).hex()]])
                next_nonce += 1
                progress_at = time.monotonic()
            time.sleep(0.05)
    sender.reset_nonce()
    return [got[h] for h in hashes]


@dataclass(frozen=True)
class DemoResult:
    deployment: Deployment
    viewer_keys: dict[str, str]  # brand -> a viewer API key for the dashboard
    figures: dict[str, int]


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
    receipts = _pipeline(brand, batches)
    for r in paying:
        rc = receipts[int(r.pop("batch"))]  # type: ignore[call-overload]
        r["tx_hash"], r["block_number"] = rc["transactionHash"], int(rc["blockNumber"], 16)
    say(f"issuing {len(world.passes)} membership passes and upgrading tiers (forwarded) …")
    fw = _Forwarded(w3, dep, brand)
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
    figures["seconds"] = round(time.monotonic() - t0)
    return DemoResult(dep, keys, figures)


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


class _Forwarded:
    """Requests signed (EIP-712) by members or the brand, submitted through the network's
    ERC2771Forwarder with executeBatch: many actions per transaction (atomic: no refund
    receiver, so one failing request reverts its batch and the demo stops)."""

    def __init__(self, w3: Web3, dep: Deployment, relayer: Sender) -> None:
        self.fwd = contracts.forwarder(w3, dep)
        self.domain = gasless.eip712_domain(self.fwd)
        self.deadline = int(w3.eth.get_block("latest")["timestamp"]) + 7200
        self.relayer = relayer
        self.nonces: dict[str, int] = defaultdict(int)  # a fresh network: every nonce is 0
        self.queue: list[gasless.ForwardRequest] = []

    def add(self, signer: LocalAccount, call: Any, gas: int) -> None:
        req = gasless.ForwardRequest(
            from_=signer.address,
            to=call.address,
            value=0,
            gas=gas,
            nonce=self.nonces[signer.address],
            deadline=self.deadline,
            data=bytes.fromhex(call._encode_transaction_data()[2:]),
            signature=b"",
        )
        self.nonces[signer.address] += 1
        sig = signer.sign_typed_data(self.domain, gasless.FORWARD_REQUEST_TYPES, req.message())
        self.queue.append(dataclasses.replace(req, signature=bytes(sig.signature)))

    def flush(self, gas_per_tx: int = 12_000_000) -> None:
        calls: list[tuple[Any, int]] = []
        part: list[gasless.ForwardRequest] = []
        for req in [*self.queue, None]:
            full = req is not None and sum(r.gas for r in part) + req.gas > gas_per_tx
            if part and (req is None or full):
                fn = self.fwd.functions.executeBatch([r.as_struct() for r in part], ZERO)
                calls.append(
                    (fn, sum(r.gas for r in part) * 11 // 10 + 50_000 + 15_000 * len(part))
                )
                part = []
            if req is not None:
                part.append(req)
        self.queue = []
        _pipeline(self.relayer, calls)


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
    from .store import make_engine, migrate

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
