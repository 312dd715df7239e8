"""A small hand-computed data set (brands acme and beta) seeded straight into the tables.

Expected figures are worked out by hand in the tests (and docs/metrics.md's worked example).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account import Account
from sqlalchemy import Engine, insert

from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.store import make_engine, migrate
from loyalty_ledger.store.insights_tables import T_SURVEY
from loyalty_ledger.store.models import (
    Balance,
    ContractState,
    IndexerState,
    LedgerEntry,
    Member,
    Pass,
    PointLot,
    Tier,
)
from loyalty_ledger.store.offchain import EarnRecord, table

from ..pg import fresh_schema

# Deterministic members: their keys sign in on the wallet page in the browser tests.
KEYS = {n: "0x" + f"{i + 11:064x}" for i, n in enumerate("ABCDE")}
ACCT = {n: Account.from_key(k) for n, k in KEYS.items()}
A, B, C, D, E = (ACCT[n].address for n in "ABCDE")

ACME = Program(
    brand_id="acme",
    points="0x" + "a1" * 20,
    pass_="0x" + "a2" * 20,
    admin="0x" + "a3" * 20,
    block=1,
    name="Acme Points",
)
BETA = Program(
    brand_id="beta",
    points="0x" + "b1" * 20,
    pass_="0x" + "b2" * 20,
    admin="0x" + "b3" * 20,
    block=1,
    name="Beta Points",
)
# The lifecycle brands (lifecycle_data.py): textbook cases of the purchase-based definitions.
GAMMA = Program(
    brand_id="gamma",
    points="0x" + "d1" * 20,
    pass_="0x" + "d2" * 20,
    admin="0x" + "d3" * 20,
    block=1,
    name="Gamma Points",
)
YOUNG = Program(
    brand_id="young",
    points="0x" + "e1" * 20,
    pass_="0x" + "e2" * 20,
    admin="0x" + "e3" * 20,
    block=1,
    name="Young Points",
)
DEPLOYMENT = Deployment(
    chain_id=31337,
    registry="0x" + "c1" * 20,
    forwarder="0x" + "c2" * 20,
    start_block=0,
    programs={"acme": ACME, "beta": BETA, "gamma": GAMMA, "young": YOUNG},
)


def ts(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())


# (brand, member, day, amount, items, status, currency)
PURCHASES = [
    ("acme", D, "2025-11-20", 70_000, 1, "confirmed", "VND"),
    ("acme", A, "2025-12-10", 100_000, 2, "confirmed", "VND"),
    ("acme", B, "2025-12-15", 50_000, 1, "confirmed", "VND"),
    ("acme", A, "2026-01-05", 200_000, 3, "confirmed", "VND"),
    ("acme", A, "2026-01-20", 100_000, 1, "confirmed", "VND"),
    ("acme", C, "2026-01-25", 300_000, 5, "confirmed", "VND"),
    ("acme", A, "2026-02-10", 50_000, 1, "confirmed", "VND"),
    ("acme", C, "2026-02-14", 150_000, 2, "confirmed", "VND"),
    ("acme", E, "2026-03-01", 400_000, 4, "confirmed", "VND"),
    ("acme", B, "2026-04-02", 10_000, 1, "confirmed", "VND"),
    # never counted: pending claim, another currency, another brand
    ("acme", E, "2026-03-02", 999_000, 9, "pending", "VND"),
    ("acme", E, "2026-03-03", 888_000, 8, "confirmed", "USD"),
    ("beta", A, "2026-01-07", 777_000, 7, "confirmed", "VND"),
]
# (brand, member, day, action)
ACTIONS = [("acme", E, "2026-02-27", "signup"), ("acme", D, "2026-03-15", "review")]
# (brand, member, day, score)
SURVEYS = [
    ("acme", A, "2025-12-20", 0),
    ("acme", A, "2026-01-15", 10),
    ("acme", C, "2026-02-03", 9),
    ("acme", E, "2026-02-28", 7),
    ("acme", D, "2026-03-16", 3),
    ("acme", B, "2026-03-20", 6),
]
# (kind, account, counterparty, amount)
LEDGER = [
    ("issue", A, None, 100),
    ("issue", B, None, 50),
    ("issue", C, None, 30),
    ("redeem", A, None, 40),
    ("forfeit", B, None, 10),
    ("gift", A, C, 20),
    ("gift", A, D, 5),
    ("gift", C, D, 5),
    ("transfer", B, C, 7),
]
BALANCES = {A: 35, B: 33, C: 52, D: 10}  # 130 in all = 180 issued - 40 - 10
# member: (tier, expires_at)
PASSES = {A: (2, 0), C: (1, 4_000_000_000), D: (1, 1000), E: (0, 0)}
TIERS = ["Bronze", "Silver", "Gold"]


# Point expiry and swaps, on beta (its partner brand of the swaps is outside the fixture).
# Clock: epoch 0 starts 2025-10-01, 30-day epochs; epoch 4 starts 2026-01-29, 5 2026-02-28,
# 6 2026-03-30, 40 2029-01-13. The mirror swept lots up to epoch 5.
BETA_CLOCK = (ts("2025-10-01"), 30 * 86_400)
BETA_SWEPT = 5
# (kind, account, amount, day or None: a row indexed before block times were stored)
BETA_LEDGER = [
    ("issue", A, 100, "2025-12-05"),
    ("issue", B, 60, "2026-01-10"),
    ("swap_in", A, 50, "2026-01-20"),
    ("issue", C, 40, "2026-02-15"),
    ("swap_out", B, 20, "2026-02-20"),
    ("swap_in", C, 30, "2026-03-05"),
    ("redeem", A, 10, "2026-03-10"),
    ("forfeit", C, 5, "2026-03-12"),
    ("issue", D, 25, "2026-04-10"),
    ("issue", E, 5, None),
]
# (holder, expiry epoch, amount): A's and B's lots are swept, C's expired unswept, A's e40 live.
BETA_LOTS = [(A, 4, 70), (B, 5, 15), (C, 6, 25), (A, 40, 40)]
# Live + unswept: 310 credited - 35 debited - 85 swept = 190 (165 live + C's 25 expired).
BETA_BALANCES = {A: 90, B: 25, C: 45, D: 25, E: 5}


def beta_expires_at(epoch: int) -> int:
    return BETA_CLOCK[0] + epoch * BETA_CLOCK[1]


def seed_beta_points(conn: Any) -> None:
    """Beta's ledger with block times, lots, balances and clock (the expiry and swap figures)."""
    tok = BETA.points.lower()
    conn.execute(
        insert(LedgerEntry.__table__),  # type: ignore[attr-defined]
        [
            dict(
                block_number=10 + i,  # beside acme's lines, within the checkpoint
                log_index=1,
                tx_hash="0x" + f"{100 + i:064x}",
                token=tok,
                kind=k,
                account=a.lower(),
                counterparty=None,
                amount=n,
                block_time=ts(day) if day else None,
            )
            for i, (k, a, n, day) in enumerate(BETA_LEDGER)
        ],
    )
    conn.execute(
        insert(PointLot.__table__),  # type: ignore[attr-defined]
        [
            dict(
                token=tok, holder=h.lower(), expiry_epoch=x, expires_at=beta_expires_at(x), amount=n
            )
            for h, x, n in BETA_LOTS
        ],
    )
    conn.execute(
        insert(Balance.__table__),  # type: ignore[attr-defined]
        [dict(token=tok, holder=m.lower(), amount=n) for m, n in BETA_BALANCES.items()],
    )
    conn.execute(
        insert(ContractState.__table__),  # type: ignore[attr-defined]
        [
            dict(
                address=tok,
                total_supply=275,
                paused=False,
                transferable=False,
                tier_count=0,
                validity_epochs=2,
                epoch_zero=BETA_CLOCK[0],
                epoch_length=BETA_CLOCK[1],
                swept_epoch=BETA_SWEPT,
            )
        ],
    )


def seed(engine: Engine) -> None:
    """Write the fixture into a migrated database."""
    earn = table(EarnRecord)
    rows: list[dict[str, Any]] = []
    for i, (brand, m, day, amount, items, status, cur) in enumerate(PURCHASES):
        rows.append(
            dict(
                brand_id=brand,
                idem_key=f"order:o{i}",
                member=m,
                reason="purchase",
                points=amount // 10_000,
                order_id=f"o{i}",
                order_amount=amount,
                currency=cur,
                items_count=items,
                action_id=None,
                status=status,
                created_at=ts(day),
            )
        )
    for i, (brand, m, day, action) in enumerate(ACTIONS):
        rows.append(
            dict(
                brand_id=brand,
                idem_key=f"action:{action}:{i}",
                member=m,
                reason=action,
                points=10,
                order_id=None,
                order_amount=None,
                currency=None,
                items_count=None,
                action_id=str(i),
                status="confirmed",
                created_at=ts(day),
            )
        )
    for r in rows:  # the POS time: the fixture's orders are recorded when they happen
        r["ordered_at"] = r["created_at"]
    tok, pss = ACME.points.lower(), ACME.pass_.lower()
    with engine.begin() as conn:
        conn.execute(insert(earn), rows)
        conn.execute(
            insert(T_SURVEY),
            [
                dict(
                    brand_id=b,
                    survey_id=f"s{i}",
                    member=m,
                    score=s,
                    comment="",
                    answered_at=ts(day),
                    created_at=ts(day),
                )
                for i, (b, m, day, s) in enumerate(SURVEYS)
            ],
        )
        conn.execute(
            insert(LedgerEntry.__table__),  # type: ignore[attr-defined]
            [
                dict(
                    block_number=10 + i,
                    log_index=0,
                    tx_hash="0x" + f"{i:064x}",
                    token=tok,
                    kind=k,
                    account=a.lower(),
                    counterparty=c.lower() if c else None,
                    amount=n,
                )
                for i, (k, a, c, n) in enumerate(LEDGER)
            ],
        )
        conn.execute(
            insert(Balance.__table__),  # type: ignore[attr-defined]
            [dict(token=tok, holder=m.lower(), amount=n) for m, n in BALANCES.items()],
        )
        conn.execute(
            insert(ContractState.__table__),  # type: ignore[attr-defined]
            [
                dict(
                    address=tok,
                    total_supply=sum(BALANCES.values()),
                    paused=False,
                    transferable=False,
                    tier_count=0,
                ),
                dict(
                    address=pss,
                    total_supply=len(PASSES),
                    paused=False,
                    transferable=False,
                    tier_count=len(TIERS),
                ),
            ],
        )
        conn.execute(
            insert(Tier.__table__),  # type: ignore[attr-defined]
            [dict(contract=pss, tier=i, name=n) for i, n in enumerate(TIERS)],
        )
        conn.execute(
            insert(Pass.__table__),  # type: ignore[attr-defined]
            [
                dict(contract=pss, token_id=i + 1, owner=m.lower(), tier=t, expires_at=x)
                for i, (m, (t, x)) in enumerate(PASSES.items())
            ],
        )
        conn.execute(
            insert(Member.__table__),  # type: ignore[attr-defined]
            [dict(address=ACCT[n].address.lower(), registered=True) for n in "ABCDE"],
        )
        conn.execute(
            insert(IndexerState.__table__),  # type: ignore[attr-defined]
            [
                dict(
                    id=1,
                    chain_id=31337,
                    genesis_hash="0x" + "00" * 32,
                    registry_address=DEPLOYMENT.registry,
                    start_block=0,
                    checkpoint_block=250,  # past gamma's blocks (lifecycle_data)
                )
            ],
        )
        seed_beta_points(conn)


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[tuple[str, Engine]]:
    """A fresh migrated database (SQLite file, or a new PostgreSQL schema) and its URL."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'insights.db'}"
        engine = make_engine(url)
        migrate(engine)
        try:
            yield url, engine
        finally:
            engine.dispose()
        return
    with fresh_schema("insights") as url:
        engine = make_engine(url)
        try:
            migrate(engine)
            yield url, engine
        finally:
            engine.dispose()
