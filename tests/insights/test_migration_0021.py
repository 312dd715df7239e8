"""Migration 0021 (the points rollup `earn_placed`): a database of the previous revision with
earnings and issues upgrades with the rollup filled from them, its triggers keep it after, the
models match, and it downgrades and upgrades again; SQLite and PostgreSQL."""

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

REV = "0021_points_rollups"
PREVIOUS = previous(REV)
JAN, FEB = 1767225600, 1769904000  # 2026-01-01, 2026-02-01 (UTC)
TOKEN = "0x" + "a1" * 20

engine = migration_engine("mig21")


def _earning(c: object, key: str, block: int, points: int, at: int) -> None:
    c.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO earn_record (brand_id, idem_key, member, reason, points, status,"
            " block_number, created_at, ordered_at) VALUES ('acme', :k, :m, 'purchase', :p,"
            " 'confirmed', :b, 1, :t)"
        ),
        {"k": key, "m": "0x" + "11" * 20, "p": points, "b": block, "t": at},
    )


def _issue(c: object, block: int, at: int) -> None:
    c.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO ledger_entry (block_number, log_index, tx_hash, token, kind, account,"
            " amount, block_time) VALUES (:b, 0, '0x01', :tok, 'issue', :a, '5', :t)"
        ),
        {"b": block, "tok": TOKEN, "a": "0x" + "11" * 20, "t": at},
    )


def _placed(eng: Engine) -> list[tuple[int, ...]]:
    with eng.connect() as c:
        q = "SELECT month, block_month, points, earnings FROM earn_placed ORDER BY 1, 2"
        return [tuple(r) for r in c.execute(text(q)) if r[3]]


def test_upgrade_fills_the_rollup_then_down_and_up(engine: Engine) -> None:
    alembic_run(engine, command.upgrade, PREVIOUS)
    assert "earn_placed" not in inspect(engine).get_table_names()
    with engine.begin() as c:
        _earning(c, "a", 7, 5, JAN + 10)
        _earning(c, "b", 8, 3, JAN + 20)  # its block is not indexed yet
        _issue(c, 7, FEB + 5)
    alembic_run(engine, command.upgrade, REV)
    jan, feb = 2026 * 12, 2026 * 12 + 1
    assert _placed(engine) == [(jan, feb, 5, 1)]
    with engine.begin() as c:  # the indexer reaches block 8: its earning is placed
        _issue(c, 8, FEB + 9)
    assert _placed(engine) == [(jan, feb, 8, 2)]
    with engine.begin() as c:  # a reorg rolls block 8 back
        c.execute(text("DELETE FROM ledger_entry WHERE block_number > 7"))
    assert _placed(engine) == [(jan, feb, 5, 1)]
    alembic_run(engine, command.downgrade, PREVIOUS)
    assert "earn_placed" not in inspect(engine).get_table_names()
    migrate(engine)  # and up again, the way the API does it
    assert _placed(engine) == [(jan, feb, 5, 1)]
    with engine.connect() as c:  # at the head the models match
        ctx = MigrationContext.configure(c, opts={"compare_type": True})
        targets = [metadata, offchain_metadata, insights_metadata, crm_metadata]
        assert compare_metadata(ctx, targets) == []
