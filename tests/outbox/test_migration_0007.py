"""Migration 0007 (the outbox tables, earn_record.intent_id) on a fresh SQLite file and a fresh
PostgreSQL schema: up from 0006 with an earn row kept, the models match, down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from loyalty_ledger.store.models import metadata
from loyalty_ledger.store.offchain import offchain_metadata

from ..migrations import alembic_run, migration_engine

REVISION, PREVIOUS = "0007_outbox", "0006_request_hash"


engine = migration_engine("mig7")
_alembic = alembic_run


def test_outbox_migration_up_down_up(engine: Engine) -> None:
    _alembic(engine, command.upgrade, PREVIOUS)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO earn_record (brand_id, idem_key, member, reason, points, status, "
                "created_at, ordered_at) VALUES ('acme', 'order:1', :m, 'purchase', 5, "
                "'confirmed', 1, 1)"
            ),
            {"m": "0x" + "ab" * 20},
        )
    _alembic(engine, command.upgrade, REVISION)
    assert {"outbox_intent", "outbox_tx"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        row = conn.execute(text("SELECT intent_id, points FROM earn_record")).one()
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, [metadata, offchain_metadata])
    assert tuple(row) == (None, 5)
    ours = [d for d in diff if "outbox" in repr(d) or "earn_record" in repr(d)]
    assert [d for d in ours if "intent_id" in repr(d) or "outbox" in repr(d)] == []
    _alembic(engine, command.downgrade, PREVIOUS)
    assert "outbox_intent" not in inspect(engine).get_table_names()
    assert "intent_id" not in {c["name"] for c in inspect(engine).get_columns("earn_record")}
    _alembic(engine, command.upgrade, "head")
    assert "outbox_tx" in inspect(engine).get_table_names()
