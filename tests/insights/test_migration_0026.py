"""Migration 0026 (the earn records' time index carries what the insights read of them): a
database of the previous revision with records upgrades with the covering index in place of the
plain one, the models match, it downgrades and upgrades again, and a cut month's read of the
records is an index-only one; SQLite and PostgreSQL."""

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

REV = "0026_lifecycle_rollup"
PREVIOUS = previous(REV)
COVERED = "ix_earn_record_by_time"
PLAIN = "ix_earn_record_brand_id_ordered_at"
CUT_READ = (  # what `timed` reads of a month a window cuts
    "SELECT member, ordered_at, order_amount FROM earn_record WHERE brand_id = 'acme'"
    " AND status = 'confirmed' AND reason = 'purchase' AND order_amount IS NOT NULL"
    " AND currency = 'VND' AND ordered_at >= 10 AND ordered_at < 20"
)

engine = migration_engine("mig26")


def _indexes(eng: Engine) -> set[str]:
    return {str(i["name"]) for i in inspect(eng).get_indexes("earn_record")}


def _records(eng: Engine) -> int:
    with eng.connect() as c:
        return int(
            c.execute(
                text(CUT_READ.replace("member, ordered_at, order_amount", "count(*)"))
            ).scalar_one()
        )


def test_upgrade_swaps_the_index_then_down_and_up(engine: Engine) -> None:
    alembic_run(engine, command.upgrade, PREVIOUS)
    assert PLAIN in _indexes(engine) and COVERED not in _indexes(engine)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO earn_record (brand_id, idem_key, member, reason, points, status,"
                " order_amount, currency, created_at, ordered_at) VALUES ('acme', 'k', :m,"
                " 'purchase', 5, 'confirmed', 700, 'VND', 1, 15)"
            ),
            {"m": "0x" + "11" * 20},
        )
    alembic_run(engine, command.upgrade, REV)
    assert COVERED in _indexes(engine) and PLAIN not in _indexes(engine)
    assert _records(engine) == 1
    if engine.dialect.name == "sqlite":
        with engine.connect() as c:
            plan = " ".join(str(r[-1]) for r in c.execute(text("EXPLAIN QUERY PLAN " + CUT_READ)))
        assert f"COVERING INDEX {COVERED}" in plan
    alembic_run(engine, command.downgrade, PREVIOUS)
    assert PLAIN in _indexes(engine) and COVERED not in _indexes(engine)
    migrate(engine)  # and up again, the way the API does it
    assert _records(engine) == 1
    with engine.connect() as c:  # at the head the models match
        ctx = MigrationContext.configure(c, opts={"compare_type": True})
        targets = [metadata, offchain_metadata, insights_metadata, crm_metadata]
        assert compare_metadata(ctx, targets) == []
