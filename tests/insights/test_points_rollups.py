"""The points rollup `earn_placed` (kept by triggers on the earn records and the ledger entries)
equals what the rows say after random writes on both sides — earnings recorded, confirmed,
failed, moved to another block or time, deleted; issues and other entries written in bulk and
one by one, several issues of a token in one block, blocks rolled back — and the month flows
read through it equal the ones read from the history; SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select

from loyalty_ledger.indexer.rollups import rebuild
from loyalty_ledger.insights import rollups
from loyalty_ledger.insights.ledger_queries import _flows_from_history
from loyalty_ledger.insights.period import Period, month_index, month_start
from loyalty_ledger.store.insights_tables import T_EARN_PLACED
from loyalty_ledger.store.models import LedgerEntry
from loyalty_ledger.store.offchain import EarnRecord, table

from ..pg import pg_available
from .fixture_data import database

T_EARN, T_ENTRY = table(EarnRecord), LedgerEntry.__table__  # type: ignore[attr-defined]
M0 = 2026 * 12  # January 2026
TOKENS = {"acme": "0x" + "a1" * 20, "beta": "0x" + "b2" * 20}
BLOCKS = 40
KINDS = ["issue", "issue", "issue", "redeem", "forfeit", "swap_in", "gift"]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql" and not pg_available():
        pytest.skip("PostgreSQL variant skipped: no server at 127.0.0.1:5432")
    with database(request.param, tmp_path) as (_url, eng):
        yield eng


def _block_time(b: int) -> int:
    return month_start(M0) + b * 3 * 86_400  # 40 blocks over about four months


def _record(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "brand_id": rng.choice(["acme", "acme", "beta"]),
        "idem_key": f"k{n}",
        "member": "0x" + "11" * 20,
        "reason": "purchase",
        "points": rng.choice([0, 1, 5, 20]),
        "status": rng.choice(["confirmed", "confirmed", "pending", "failed"]),
        "block_number": rng.choice([None, *range(1, BLOCKS + 1)]),
        "created_at": 1,
        "ordered_at": month_start(M0 - 1) + rng.randrange(150 * 86_400),
    }


def _entry(rng: random.Random, block: int, log: int) -> dict[str, Any]:
    return {
        "block_number": block,
        "log_index": log,
        "tx_hash": "0x" + f"{block:064x}",
        "token": rng.choice(list(TOKENS.values())),
        "kind": rng.choice(KINDS),
        "account": "0x" + "22" * 20,
        "amount": rng.randrange(0, 50),
        "block_time": _block_time(block),
    }


def _entries(rng: random.Random, blocks: range, logs: dict[int, int]) -> list[dict[str, Any]]:
    out = []
    for b in blocks:
        for _ in range(rng.randrange(4)):
            out.append(_entry(rng, b, logs[b]))
            logs[b] += 1
    rng.shuffle(out)  # the order of a batch is not the order of the logs
    return out


def _write(engine: Engine, rng: random.Random) -> None:
    """Random writes on both sides, one transaction each."""
    logs: dict[int, int] = defaultdict(int)
    n = 0
    with engine.begin() as conn:  # earnings first: some of their blocks come later
        conn.execute(T_EARN.insert(), [_record(rng, i) for i in range(150)])
        n = 150
    with engine.begin() as conn:
        conn.execute(T_ENTRY.insert(), _entries(rng, range(1, 25), logs))
    for _ in range(90):
        with engine.begin() as conn:
            ids = [i for (i,) in conn.execute(select(T_EARN.c.id))]
            pick, what = rng.choice(ids), rng.randrange(8)
            one = T_EARN.update().where(T_EARN.c.id == pick)
            if what == 0:
                conn.execute(T_EARN.insert().values(**_record(rng, n)))
                n += 1
            elif what == 1:
                conn.execute(one.values(status=rng.choice(["confirmed", "failed"])))
            elif what == 2:
                conn.execute(one.values(block_number=rng.randrange(1, BLOCKS + 1)))
            elif what == 3:
                conn.execute(one.values(ordered_at=_record(rng, 0)["ordered_at"], points=5))
            elif what == 4:
                conn.execute(T_EARN.delete().where(T_EARN.c.id == pick))
            elif what == 5:  # the indexer: a batch of new blocks (several rows at once)
                b = rng.randrange(1, BLOCKS + 1)
                rows = _entries(rng, range(b, min(b + 4, BLOCKS + 1)), logs)
                if rows:
                    conn.execute(T_ENTRY.insert(), rows)
            elif what == 6:  # a reorg: the blocks above an ancestor rolled back
                conn.execute(delete(T_ENTRY).where(T_ENTRY.c.block_number > rng.randrange(BLOCKS)))
            else:  # one entry in an existing block
                b = rng.randrange(1, BLOCKS + 1)
                conn.execute(T_ENTRY.insert().values(**_entry(rng, b, logs[b])))
                logs[b] += 1
    with engine.begin() as conn:  # the indexer catches up after the last rollback
        top = conn.execute(select(func.max(T_ENTRY.c.block_number))).scalar() or 0
        rows = _entries(rng, range(top + 1, BLOCKS + 1), logs)
        if rows:
            conn.execute(T_ENTRY.insert(), rows)


def _expected(engine: Engine) -> dict[tuple[str, str, int, int], tuple[int, int]]:
    """earn_placed computed in Python from the rows."""
    with engine.connect() as conn:
        issued: dict[tuple[int, str], int] = {}
        for b, token, bt in conn.execute(
            select(T_ENTRY.c.block_number, T_ENTRY.c.token, T_ENTRY.c.block_time).where(
                T_ENTRY.c.kind == "issue"
            )
        ):
            issued[(b, token)] = min(bt, issued.get((b, token), bt))
        out: dict[tuple[str, str, int, int], list[int]] = defaultdict(lambda: [0, 0])
        for r in conn.execute(select(T_EARN)).mappings():
            if r["status"] != "confirmed" or r["points"] <= 0 or r["block_number"] is None:
                continue
            for (b, token), bt in issued.items():
                if b == r["block_number"]:
                    row = out[(r["brand_id"], token, month_index(r["ordered_at"]), month_index(bt))]
                    row[0] += r["points"]
                    row[1] += 1
    return {k: (p, n) for k, (p, n) in out.items() if n}


def _kept(engine: Engine) -> dict[tuple[str, str, int, int], tuple[int, int]]:
    p = T_EARN_PLACED.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.brand_id, p.token, p.month, p.block_month, p.points, p.earnings)
        )
        return {(b, t, m, bm): (pts, n) for b, t, m, bm, pts, n in rows if n}


def _nonzero(per: dict[int, dict[str, int]]) -> dict[int, dict[str, int]]:
    out = {m: {k: v for k, v in d.items() if v} for m, d in per.items()}
    return {m: d for m, d in out.items() if d}


@pytest.mark.parametrize("seed", [3, 17])
def test_earn_placed_equals_the_rows_and_flows_equal_the_history(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    _write(engine, rng)
    expected = _expected(engine)
    assert expected, "the random writes matched no earning to an issue: the test saw nothing"
    assert _kept(engine) == expected
    with engine.begin() as conn:
        rebuild(conn)  # the indexer's own rollups (ledger_month), as it keeps them
    now = month_start(M0 + 8)
    periods = [
        Period(month_start(M0 + a), month_start(M0 + b), now)
        for a, b in ((0, 3), (-1, 5), (1, 2), (2, 6))
    ]
    answered = 0
    for brand, token in TOKENS.items():
        for period in periods:
            with engine.connect() as conn:
                fast = rollups.month_flows(conn, token=token, brand_id=brand, period=period)
                slow = _flows_from_history(conn, token, brand, period)
            assert fast is not None  # whole months: the rollups answer
            answered += sum(1 for v in fast.values() if v.get("issued_by_event"))
            assert _nonzero(fast) == _nonzero(slow)
    assert answered  # some earnings were placed by their own time
