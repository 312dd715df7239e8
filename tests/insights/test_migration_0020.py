"""Migration 0020 (member relationship tables): a 0009 database upgrades with its rows intact,
matches the models, and downgrades and upgrades again; SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from loyalty_ledger.store import metadata, migrate
from loyalty_ledger.store.crm_tables import crm_metadata
from loyalty_ledger.store.insights_tables import insights_metadata
from loyalty_ledger.store.offchain import offchain_metadata

from ..migrations import alembic_run, migration_engine, previous

REV = "0020_member_crm"
PREVIOUS = previous(REV)
TABLES = {"member_profile", "member_erasure", "segment", "webhook_endpoint", "notification"}

engine = migration_engine("mig20")


def test_upgrade_keeps_rows_then_down_and_up(engine: Engine) -> None:
    alembic_run(engine, command.upgrade, PREVIOUS)
    assert not TABLES & set(inspect(engine).get_table_names())
    with engine.begin() as c:
        c.execute(text("INSERT INTO insights_setting VALUES ('acme', 30, 1)"))
    alembic_run(engine, command.upgrade, REV)
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO member_profile (brand_id, member, name, consent, updated_at) "
                "VALUES ('acme', :m, 'Ann', true, 1)"
            ),
            {"m": "0x" + "ab" * 20},
        )
        assert c.execute(text("SELECT churn_days FROM insights_setting")).scalar_one() == 30
    alembic_run(engine, command.downgrade, PREVIOUS)
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate(engine)  # and up again, the way the API does it
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as c:  # at the head (later revisions follow 0020) the models match
        ctx = MigrationContext.configure(c, opts={"compare_type": True})
        targets = [metadata, offchain_metadata, insights_metadata, crm_metadata]
        assert compare_metadata(ctx, targets) == []
