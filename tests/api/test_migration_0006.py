"""Migration 0006 (request_hash on earn_record and redemption) on a fresh SQLite file and a fresh
PostgreSQL schema: up from 0005 with rows (they keep a NULL hash and replay for any body), the
models match, down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from loyalty_ledger.errors import IdempotencyConflict
from loyalty_ledger.programme.idempotency import check_same, request_hash
from loyalty_ledger.store.offchain import offchain_metadata

from ..migrations import alembic_run, migration_engine

REVISION, PREVIOUS = "0006_request_hash", "0005_expiry_exchange"
TABLES = ("earn_record", "redemption")


engine = migration_engine("mig6")
_alembic = alembic_run


def _cols(engine: Engine, name: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(name)}


def test_upgrade_from_0005_keeps_rows_then_down_and_up(engine: Engine) -> None:
    _alembic(engine, command.upgrade, PREVIOUS)
    assert all("request_hash" not in _cols(engine, t) for t in TABLES)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO redemption (perk_id, brand_id, member, idem_key, points, method, "
                "status, created_at) VALUES (1, 'acme', :m, 'k1', 5, 'forward', 'confirmed', 1)"
            ),
            {"m": "0x" + "ab" * 20},
        )
        conn.execute(
            text(
                "INSERT INTO earn_record (brand_id, idem_key, member, reason, points, status, "
                "created_at, ordered_at) VALUES ('acme', 'order:o1', :m, 'purchase', 5, "
                "'confirmed', 1, 1)"
            ),
            {"m": "0x" + "ab" * 20},
        )

    _alembic(engine, command.upgrade, REVISION)
    assert all("request_hash" in _cols(engine, t) for t in TABLES)
    with engine.connect() as conn:
        hashes = [conn.execute(text(f"SELECT request_hash FROM {t}")).scalar_one() for t in TABLES]
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, offchain_metadata)
    assert hashes == [None, None]  # rows from before: any retry replays them
    # (later migrations add other columns to these tables: only 0006's own are compared here)
    assert [d for d in diff if "request_hash" in repr(d)] == []
    check_same(None, request_hash({"any": "body"}), "the key")
    with pytest.raises(IdempotencyConflict):
        check_same(request_hash({"a": 1}), request_hash({"a": 2}), "the key")

    _alembic(engine, command.downgrade, PREVIOUS)
    assert all("request_hash" not in _cols(engine, t) for t in TABLES)
    with engine.connect() as conn:
        assert [conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES] == [
            1,
            1,
        ]
    _alembic(engine, command.upgrade, "head")
    assert all("request_hash" in _cols(engine, t) for t in TABLES)


def test_request_hash_is_canonical() -> None:
    assert request_hash({"b": 1, "a": b"\x01"}) == request_hash({"a": b"\x01", "b": 1})
    assert request_hash({"a": 1}) != request_hash({"a": "1"})
    assert len(request_hash({})) == 64
