"""Migration 0008 (indexer_state.reorg_window): one head; a 0007 mirror keeps its rows with no
window recorded (the next run records one), matches the models, downgrades and upgrades again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from loyalty_ledger.store import metadata
from loyalty_ledger.store.crm_tables import crm_metadata
from loyalty_ledger.store.engine import alembic_config
from loyalty_ledger.store.insights_tables import insights_metadata
from loyalty_ledger.store.offchain import offchain_metadata

from .test_migration_0005 import _alembic, _cols, _fill_0004, _revision

THIS, PREVIOUS = "0008_reorg_window", "0007_outbox"
# HEAD: the schema's single head, which later migrations move on.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_single_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD]


def test_upgrade_0006_with_data_then_down_and_up(engine: Engine) -> None:
    _alembic(engine, command.upgrade, "0004_earn_ordered_at")
    _fill_0004(engine)
    _alembic(engine, command.upgrade, PREVIOUS)
    assert "reorg_window" not in _cols(engine, "indexer_state")
    _alembic(engine, command.upgrade, "head")
    assert _revision(engine) == HEAD
    with engine.connect() as c:
        st = c.execute(text("SELECT * FROM indexer_state")).mappings().one()
        ctx = MigrationContext.configure(c, opts={"compare_type": True})
        diff = compare_metadata(ctx, [metadata, offchain_metadata, insights_metadata, crm_metadata])
    assert st["reorg_window"] is None and st["checkpoint_block"] == 99
    assert diff == []
    _alembic(engine, command.downgrade, PREVIOUS)
    assert "reorg_window" not in _cols(engine, "indexer_state")
    _alembic(engine, command.upgrade, HEAD)
    assert _revision(engine) == HEAD
