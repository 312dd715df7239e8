"""The earn records' rollups (`earn_month`, `earn_member`, kept by triggers) and the windows
read through them (`earn_facts`) equal what the records say: after random inserts,
confirmations, deletes and moves in time, for windows cut anywhere (mid-month, mid-day, around
records), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from loyalty_ledger.insights.earn_facts import FOREVER, facts, plan
from loyalty_ledger.insights.period import month_start
from loyalty_ledger.store.offchain import EarnRecord, table

from ..pg import pg_available
from .fixture_data import database

T_EARN = table(EarnRecord)
M0 = 2026 * 12  # January 2026
MEMBERS = [f"0x{i:040x}" for i in range(1, 7)]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql" and not pg_available():
        pytest.skip("PostgreSQL variant skipped: no server at 127.0.0.1:5432")
    with database(request.param, tmp_path) as (_url, eng):
        yield eng


def _time(rng: random.Random) -> int:
    return month_start(M0 + rng.randrange(4)) + rng.randrange(28 * 86_400)


def _record(rng: random.Random, n: int) -> dict[str, Any]:
    purchase = rng.random() < 0.7
    return {
        "brand_id": rng.choice(["acme", "acme", "beta"]),
        "idem_key": f"k{n}",
        "member": rng.choice(MEMBERS),
        "reason": "purchase" if purchase else rng.choice(["signup", "review"]),
        "points": 1,
        "order_amount": rng.randrange(1, 10_000) if purchase and rng.random() < 0.95 else None,
        "currency": rng.choice(["VND", "VND", "USD"]) if purchase else None,
        "items_count": rng.choice([None, 1, 3]),
        "status": rng.choice(["confirmed", "confirmed", "pending"]),
        "created_at": 1,
        "ordered_at": _time(rng),
    }


def _write(engine: Engine, rng: random.Random) -> None:
    """Random writes, one transaction each: bulk and single inserts, confirmations, failures,
    deletes, moves to another month."""
    n = 0
    with engine.begin() as conn:  # a bulk write (executemany)
        conn.execute(T_EARN.insert(), [_record(rng, n + i) for i in range(120)])
    n += 120
    for _ in range(80):
        with engine.begin() as conn:
            pick = rng.choice([i for (i,) in conn.execute(select(T_EARN.c.id))])
            what = rng.randrange(5)
            if what == 0:
                conn.execute(T_EARN.insert().values(**_record(rng, n)))
                n += 1
            elif what == 1:
                conn.execute(T_EARN.update().where(T_EARN.c.id == pick).values(status="confirmed"))
            elif what == 2:
                conn.execute(T_EARN.update().where(T_EARN.c.id == pick).values(status="failed"))
            elif what == 3:
                conn.execute(T_EARN.delete().where(T_EARN.c.id == pick))
            else:
                conn.execute(
                    T_EARN.update().where(T_EARN.c.id == pick).values(ordered_at=_time(rng))
                )


def _expected(engine: Engine, brand: str, lo: int | None, hi: int) -> dict[tuple[str, str], Any]:
    """Per member and currency, from the records in Python."""
    out: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, 0, 0, 0, None, None])
    with engine.connect() as conn:
        for r in conn.execute(select(T_EARN).where(T_EARN.c.brand_id == brand)).mappings():
            t = r["ordered_at"]
            if r["status"] != "confirmed" or t >= hi or (lo is not None and t < lo):
                continue
            row = out[(r["member"], r["currency"] or "")]
            row[0] += 1
            if r["reason"] == "purchase" and r["order_amount"] is not None:
                row[1] += 1
                row[2] += r["order_amount"]
                row[3] += r["items_count"] or 0
                row[4] = t if row[4] is None else min(row[4], t)
                row[5] = t if row[5] is None else max(row[5], t)
    return {k: tuple(v) for k, v in out.items()}


def _first_records(engine: Engine, brand: str) -> dict[tuple[str, str], int]:
    currency = func.coalesce(T_EARN.c.currency, "")
    q = (
        select(T_EARN.c.member, currency, func.min(T_EARN.c.ordered_at))
        .where(T_EARN.c.brand_id == brand, T_EARN.c.status == "confirmed")
        .group_by(T_EARN.c.member, currency)
    )
    with engine.connect() as conn:
        return {(m, c): int(t) for m, c, t in conn.execute(q)}


def _read(
    engine: Engine, brand: str, lo: int | None, hi: int, purchases: str | None = None
) -> dict[tuple[str, str], Any]:
    with engine.connect() as conn:
        f = facts(conn, brand_id=brand, lo=lo, hi=hi, purchases=purchases)
        q = select(
            f.c.member,
            f.c.currency,
            func.sum(f.c.records),
            func.sum(f.c.orders),
            func.sum(f.c.spend),
            func.sum(f.c["items"]),
            func.min(f.c.first_at),
            func.max(f.c.last_at),
        ).group_by(f.c.member, f.c.currency)
        return {
            (m, c): tuple(None if v is None else int(v) for v in rest)
            for m, c, *rest in conn.execute(q)
        }


def test_rollup_is_the_records_after_random_writes(engine: Engine) -> None:
    rng = random.Random(17)
    _write(engine, rng)
    for brand in ("acme", "beta"):  # the rollup itself: each month's rows are its records
        for m in range(M0, M0 + 4):
            sql = text(
                "SELECT member, currency, records, orders, spend, items, first_at, last_at"
                " FROM earn_month WHERE brand_id = :b AND month = :m"
            )
            with engine.connect() as conn:
                kept = {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(sql, {"b": brand, "m": m})}
            assert kept == _expected(engine, brand, month_start(m), month_start(m + 1))
            assert kept or brand == "beta"
        sql = text(
            "SELECT member, currency, records, orders, spend, items, first_at, last_at,"
            " first_record_at FROM earn_member WHERE brand_id = :b"
        )
        with engine.connect() as conn:
            total = {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(sql, {"b": brand})}
        every = _expected(engine, brand, None, FOREVER)
        assert {k: v[:-1] for k, v in total.items()} == every
        assert {k: v[-1] for k, v in total.items()} == _first_records(engine, brand)
    # Every window read through the rollup equals the records: whole months, cut months, and
    # windows that end or start right at a record's time.
    with engine.connect() as conn:
        times = [t for (t,) in conn.execute(select(T_EARN.c.ordered_at))]
    windows: list[tuple[int | None, int]] = [
        (None, month_start(M0 + 4)),
        (month_start(M0 + 1), month_start(M0 + 3)),
        (None, month_start(M0 + 2) + 86_400 * 9 + 77),
        (month_start(M0) + 3_600, month_start(M0 + 3) + 5),
        (month_start(M0 + 1) + 86_400, month_start(M0 + 1) + 86_400 * 20),
        (month_start(M0 + 2), month_start(M0 + 2)),
    ]
    windows += [(t, t + 86_400 * rng.randrange(1, 90)) for t in rng.sample(times, 6)]
    windows += [(None, t) for t in rng.sample(times, 4)] + [(None, t + 1) for t in times[:3]]
    raw_used = False
    for brand in ("acme", "beta"):
        for lo, hi in windows:
            expected = _expected(engine, brand, lo, hi)
            assert _read(engine, brand, lo, hi) == expected, (lo, hi)
            vnd = {k: v[1:] for k, v in expected.items() if k[1] == "VND" and v[1]}
            read = _read(engine, brand, lo, hi, purchases="VND")  # (records: not counted)
            assert {k: v[1:] for k, v in read.items()} == vnd, (lo, hi)
            with engine.connect() as conn:
                raw_used |= bool(plan(conn, brand, lo, hi)[1])
    assert raw_used  # some windows cut a month where records lie outside them


def test_a_window_that_ends_after_every_record_reads_the_rollup_only(engine: Engine) -> None:
    rng = random.Random(3)
    with engine.begin() as conn:
        conn.execute(T_EARN.insert(), [_record(rng, i) for i in range(40)])
    end = month_start(M0 + 3) + 86_400 * 29  # mid-month, after every record
    with engine.connect() as conn:
        months, raw = plan(conn, "acme", month_start(M0 + 1) + 5, end)
    assert raw in ([], [(M0 + 1, month_start(M0 + 1) + 5, month_start(M0 + 2))])
    assert months is not None and months[1] == M0 + 3
    assert _read(engine, "acme", None, end) == _expected(engine, "acme", None, end)
