"""Migration 0025 (email_client_limit: the per-client sending limit in SQL) on SQLite and
PostgreSQL: up from its predecessor, the models match, down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from loyalty_ledger.store.models import metadata
from loyalty_ledger.store.offchain import offchain_metadata

from ..migrations import alembic_run, migration_engine, previous

REVISION = "0025_customer_gaps"
TABLE = "email_client_limit"

engine = migration_engine("mig25")


def test_client_limit_migration_up_down_up(engine: Engine) -> None:
    before = previous(REVISION)
    alembic_run(engine, command.upgrade, before)
    assert TABLE not in inspect(engine).get_table_names()
    alembic_run(engine, command.upgrade, REVISION)
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {TABLE} (client, window_start, sent) VALUES ('c', 5, 2)"))
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, [metadata, offchain_metadata])
    assert [d for d in diff if TABLE in repr(d)] == []
    alembic_run(engine, command.downgrade, before)
    assert TABLE not in inspect(engine).get_table_names()
    alembic_run(engine, command.upgrade, "head")
    assert TABLE in inspect(engine).get_table_names()
