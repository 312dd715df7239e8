"""Migration 0004 (earn_record.ordered_at) on a fresh SQLite file and a fresh PostgreSQL schema:
a single head, a fresh database up to head, an upgrade from 0003 that back-fills existing earn
rows, a working downgrade; and the insights count a purchase in the month it was ordered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, inspect, text
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.insights import queries
from loyalty_ledger.insights.period import Period, month_index, month_start
from loyalty_ledger.store import make_engine, migrate
from loyalty_ledger.store.engine import alembic_config
from loyalty_ledger.store.offchain import EarnRecord, offchain_metadata, table

from ..pg import fresh_schema

# HEAD: the schema's single head, which later migrations (0005, 0006 ...) move on.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
PREVIOUS = "0003_insights_survey"
JAN, FEB = 1_767_225_600, 1_769_904_000  # 2026-01-01, 2026-02-01 (UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database: a SQLite file, or a new PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'mig.db'}")
        yield eng
        eng.dispose()
        return
    with fresh_schema("mig") as url:
        eng = make_engine(url)
        try:
            yield eng
        finally:
            eng.dispose()


def _alembic(engine: Engine, fn: Any, rev: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        fn(cfg, rev)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _earn_row(i: int, created_at: int) -> dict[str, Any]:
    return {
        "brand_id": "acme",
        "idem_key": f"order:o{i}",
        "member": "0x" + f"{i:02x}" * 20,
        "reason": "purchase",
        "points": 5,
        "order_id": f"o{i}",
        "order_amount": 50_000,
        "currency": "VND",
        "items_count": 1,
        "action_id": None,
        "status": "confirmed",
        "tx_hash": None,
        "block_number": None,
        "created_at": created_at,
    }


def test_single_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD]


def test_fresh_database_reaches_head_and_matches_the_models(engine: Engine) -> None:
    migrate(engine)
    assert _revision(engine) == HEAD
    insp = inspect(engine)
    col = {c["name"]: c for c in insp.get_columns("earn_record")}["ordered_at"]
    assert col["nullable"] is False
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, offchain_metadata)
    assert [d for d in diff if "earn_record" in repr(d)] == []


def test_upgrade_from_0003_backfills_then_downgrades(engine: Engine) -> None:
    _alembic(engine, command.upgrade, PREVIOUS)
    assert "ordered_at" not in {c["name"] for c in inspect(engine).get_columns("earn_record")}
    cols = list(_earn_row(0, 0))
    stmt = text(
        f"INSERT INTO earn_record ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"
    )
    with engine.begin() as conn:
        conn.execute(stmt, [_earn_row(i, JAN + i * 3600) for i in range(3)])

    _alembic(engine, command.upgrade, "head")
    assert _revision(engine) == HEAD
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT order_id, created_at, ordered_at FROM earn_record ORDER BY id")
        ).all()
    assert [(r[0], r[2]) for r in rows] == [(f"o{i}", JAN + i * 3600) for i in range(3)]
    assert all(r[1] == r[2] for r in rows)
    # NOT NULL now: a row without a time is refused
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(stmt, _earn_row(9, JAN))

    _alembic(engine, command.downgrade, PREVIOUS)
    assert _revision(engine) == PREVIOUS
    insp = inspect(engine)
    assert "ordered_at" not in {c["name"] for c in insp.get_columns("earn_record")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM earn_record")).scalar_one() == 3
    _alembic(engine, command.upgrade, "head")  # and up again
    assert _revision(engine) == HEAD


def test_insights_count_purchases_by_order_time(engine: Engine) -> None:
    """Ordered in January, recorded in February: a January purchase."""
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(table(EarnRecord)),
            [{**_earn_row(1, FEB + 3600), "ordered_at": JAN + 86400}],
        )
        jan, feb = Period(JAN, FEB), Period(FEB, FEB + 28 * 86400)
        in_jan = queries.customer_stats(conn, brand_id="acme", currency="VND", period=jan)
        in_feb = queries.customer_stats(conn, brand_id="acme", currency="VND", period=feb)
        months = queries.month_stats(
            conn, brand_id="acme", currency="VND", period=Period(JAN, FEB + 28 * 86400)
        )
    assert [c.orders for c in in_jan] == [1] and in_feb == []
    assert [(m.month, m.orders) for m in months] == [(month_index(JAN), 1), (month_index(FEB), 0)]
    assert month_start(month_index(JAN)) == JAN
