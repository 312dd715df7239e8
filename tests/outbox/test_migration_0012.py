"""Migration 0012 (redemption.intent_id, reserved, hold_token) on SQLite and PostgreSQL: up
from 0020 with a redemption kept, the models match, down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from loyalty_ledger.store.models import metadata
from loyalty_ledger.store.offchain import offchain_metadata

from ..migrations import alembic_run, migration_engine

REVISION, PREVIOUS = "0012_redemption_intent", "0020_member_crm"
NEW = {"intent_id", "reserved", "hold_token"}

engine = migration_engine("mig12")


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("redemption")}


def test_redemption_intent_migration_up_down_up(engine: Engine) -> None:
    alembic_run(engine, command.upgrade, PREVIOUS)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO redemption (perk_id, brand_id, member, idem_key, points, method, "
                "status, created_at) VALUES (1, 'acme', :m, 'k1', 7, 'forward', 'confirmed', 1)"
            ),
            {"m": "0x" + "ab" * 20},
        )
    alembic_run(engine, command.upgrade, REVISION)
    assert _columns(engine) >= NEW
    with engine.connect() as conn:
        row = conn.execute(text("SELECT intent_id, reserved, points FROM redemption")).one()
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, [metadata, offchain_metadata])
    assert tuple(row) == (None, None, 7)
    assert [d for d in diff if "redemption" in repr(d)] == []
    alembic_run(engine, command.downgrade, PREVIOUS)
    assert not NEW & _columns(engine)
    alembic_run(engine, command.upgrade, "head")
    assert _columns(engine) >= NEW
