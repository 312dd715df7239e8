"""Two more brands for the purchase-based lifecycle definitions, worked out by hand in
test_lifecycle.py and docs/metrics.md.

gamma (churn window 90 days, the default): a customer with a 60-day purchase cycle (P), one who
bought monthly and stopped (Q), members who signed up and never bought (R, S), a late first
purchase (T), a customer from before (U), one acquired in April (V); its points were all issued
on 2 July (a back-filled history) and it forfeits without an expiry policy.

young (churn window 30 days, set by the brand): a programme whose first member arrived on
4 May 2026, younger than the default period seen on 10 July 2026.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import Engine, insert

from loyalty_ledger.store.insights_tables import T_SETTING
from loyalty_ledger.store.models import Balance, LedgerEntry
from loyalty_ledger.store.offchain import EarnRecord, table

from .fixture_data import GAMMA, ts

P, Q, R, S, T, U, V, W, X, Y, Z = (
    to_checksum_address("0x" + f"{n:02x}" * 20) for n in range(0x41, 0x4C)
)
NOW_YOUNG = ts("2026-07-10")

# (brand, member, day, amount) — confirmed purchases in VND, 1 point per 10,000
PURCHASES = [
    ("gamma", U, "2025-12-01", 80_000),
    ("gamma", P, "2026-01-05", 60_000),  # P buys every 60 days
    ("gamma", P, "2026-03-06", 60_000),
    ("gamma", P, "2026-05-05", 60_000),
    ("gamma", Q, "2026-01-10", 40_000),  # Q buys monthly, then stops
    ("gamma", Q, "2026-02-10", 40_000),
    ("gamma", Q, "2026-03-10", 40_000),
    ("gamma", T, "2026-02-20", 100_000),
    ("gamma", T, "2026-04-15", 50_000),
    ("gamma", V, "2026-04-20", 30_000),
    ("young", W, "2026-05-04", 50_000),
    ("young", X, "2026-05-10", 20_000),
    ("young", X, "2026-06-25", 20_000),
    ("young", Y, "2026-05-28", 30_000),
    ("young", Y, "2026-06-02", 30_000),
    ("young", Y, "2026-07-05", 30_000),
    ("young", Z, "2026-06-20", 10_000),
]
# (brand, member, day, action, points)
ACTIONS = [
    ("gamma", U, "2025-12-01", "signup", 100),
    ("gamma", R, "2026-02-01", "signup", 100),  # R and S never buy
    ("gamma", T, "2026-02-03", "signup", 100),
    ("gamma", S, "2026-02-05", "signup", 100),
    ("gamma", V, "2026-06-10", "review", 20),  # its issue is not indexed yet
    ("young", W, "2026-05-04", "signup", 100),
]
# Gamma's chain: a goodwill issue without an earn record (block 150), a forfeit of a dormant
# account (160) and a redemption (170); then every earning issued on 2 July in two transactions
# (purchases in block 200; signups in 201, their earn records carrying the hash in upper case).
# V's review bonus sits in block 300, which the mirror has not reached. Q's first order still
# names block 199, which holds no gamma issue: a reorg mined its transaction again in 200.
TX_PURCHASES, TX_SIGNUPS, TX_REVIEW = ("0x" + f"{n:064x}" for n in (0x6A01, 0x6A02, 0x6A09))
# (block, tx, kind, member, amount, day)
GAMMA_OTHER = [
    (150, "0x" + f"{0x6A03:064x}", "issue", P, 25, "2026-05-15"),
    (160, "0x" + f"{0x6A04:064x}", "forfeit", U, 12, "2026-06-20"),
    (170, "0x" + f"{0x6A05:064x}", "redeem", T, 20, "2026-06-25"),
]
GAMMA_BALANCES = {P: 43, Q: 12, R: 100, S: 100, T: 95, U: 96, V: 3}  # 481 - 20 - 12 = 449


def _earn_row(i: int, brand: str, member: str, day: str, **kw: Any) -> dict[str, Any]:
    return {
        "brand_id": brand,
        "member": member,
        "status": "confirmed",
        "created_at": ts(day),
        "ordered_at": ts(day),
        "order_id": None,
        "order_amount": None,
        "currency": None,
        "items_count": None,
        "action_id": None,
        "tx_hash": None,
        "block_number": None,
        **kw,
        "idem_key": f"lc:{i}",
    }


def earn_rows() -> list[dict[str, Any]]:
    rows = []
    for i, (brand, m, day, amount) in enumerate(PURCHASES):
        block = 199 if (m, day) == (Q, "2026-01-10") else 200
        chain = {"tx_hash": TX_PURCHASES, "block_number": block} if brand == "gamma" else {}
        rows.append(
            _earn_row(
                i,
                brand,
                m,
                day,
                reason="purchase",
                points=amount // 10_000,
                order_id=f"lc-o{i}",
                order_amount=amount,
                currency="VND",
                items_count=1,
                **chain,
            )
        )
    for i, (brand, m, day, action, pts) in enumerate(ACTIONS, start=len(PURCHASES)):
        chain = {}
        if brand == "gamma":
            tx, block = (TX_REVIEW, 300) if action == "review" else (TX_SIGNUPS.upper(), 201)
            chain = {"tx_hash": "0x" + tx[2:], "block_number": block}
        rows.append(
            _earn_row(i, brand, m, day, reason=action, points=pts, action_id=f"lc-a{i}", **chain)
        )
    return rows


def ledger_rows() -> list[dict[str, Any]]:
    tok, july = GAMMA.points.lower(), ts("2026-07-02")
    out = []
    mirrored = [r for r in earn_rows() if r["brand_id"] == "gamma" and r["block_number"] != 300]
    for i, r in enumerate(mirrored):
        out.append(
            dict(
                block_number=200 if r["reason"] == "purchase" else 201,
                log_index=i,
                tx_hash=r["tx_hash"].lower(),
                token=tok,
                kind="issue",
                account=r["member"].lower(),
                amount=r["points"],
                reason=r["reason"],
                block_time=july,
            )
        )
    for block, tx, kind, m, n, day in GAMMA_OTHER:
        out.append(
            dict(
                block_number=block,
                log_index=0,
                tx_hash=tx,
                token=tok,
                kind=kind,
                account=m.lower(),
                amount=n,
                reason=None,
                block_time=ts(day),
            )
        )
    return out


def seed_lifecycle(engine: Engine) -> None:
    """Write gamma's and young's rows into a database seeded with fixture_data.seed."""
    tok = GAMMA.points.lower()
    with engine.begin() as conn:
        conn.execute(insert(table(EarnRecord)), earn_rows())
        conn.execute(insert(LedgerEntry.__table__), ledger_rows())  # type: ignore[attr-defined]
        conn.execute(
            insert(Balance.__table__),  # type: ignore[attr-defined]
            [dict(token=tok, holder=m.lower(), amount=n) for m, n in GAMMA_BALANCES.items()],
        )
        conn.execute(insert(T_SETTING), [dict(brand_id="young", churn_days=30, updated_at=0)])
