"""The demo's simulated customer base: two brands, members who join, buy seasonally, churn,
gift, redeem and answer surveys. `simulate` is pure: a seeded random world, no chain, no SQL.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount

from loyalty_ledger.insights.period import month_index, month_start

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


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
    churned: dict[tuple[str, str], int] = field(default_factory=dict)
    """(brand, member) -> the time they stopped buying: the truth churn scores are tested on."""


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
            if churned:
                w.churned[(spec.brand_id, addr)] = active_until
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
