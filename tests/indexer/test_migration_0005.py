"""Migration 0005 (point_lot, exchange, expiry clock on contract_state, ledger_entry.block_time,
indexer_state.exchange_address): a 0004 mirror with data upgrades with defaults
back-filled and its rows intact, matches the models, downgrades and upgrades again."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from loyalty_ledger.store import metadata, migrate
from loyalty_ledger.store.crm_tables import crm_metadata
from loyalty_ledger.store.engine import alembic_config
from loyalty_ledger.store.insights_tables import insights_metadata
from loyalty_ledger.store.offchain import offchain_metadata

# HEAD: the schema's single head, which later migrations (0006 ...) move on.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
PREVIOUS = "0004_earn_ordered_at"
TOKEN, HOLDER = "0x" + "a" * 40, "0x" + "b" * 40


def _alembic(engine: Engine, fn: Any, rev: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        fn(cfg, rev)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _cols(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def _fill_0004(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO indexer_state (id, chain_id, genesis_hash, registry_address, "
                "start_block, checkpoint_block, checkpoint_hash) "
                "VALUES (1, 31337, :g, :r, 1, 99, :h)"
            ),
            {"g": "0x" + "1" * 64, "r": "0x" + "2" * 40, "h": "0x" + "3" * 64},
        )
        c.execute(
            text(
                "INSERT INTO contract_state (address, total_supply, paused, transferable, "
                "tier_count) VALUES (:a, :s, false, false, 0)"
            ),
            {"a": TOKEN, "s": "5000"},
        )
        c.execute(
            text(
                "INSERT INTO ledger_entry (block_number, log_index, tx_hash, token, kind, "
                "account, amount) VALUES (7, 0, :tx, :t, 'issue', :h, :amt)"
            ),
            {"tx": "0x" + "4" * 64, "t": TOKEN, "h": HOLDER, "amt": "5000"},
        )
        c.execute(
            text("INSERT INTO balance (token, holder, amount) VALUES (:t, :h, :a)"),
            {"t": TOKEN, "h": HOLDER, "a": "5000"},
        )


def test_upgrade_0004_with_data_then_down_and_up(engine: Engine) -> None:
    _alembic(engine, command.upgrade, PREVIOUS)
    assert "point_lot" not in inspect(engine).get_table_names()
    _fill_0004(engine)

    _alembic(engine, command.upgrade, HEAD)
    assert _revision(engine) == HEAD
    names = set(inspect(engine).get_table_names())
    assert {"point_lot", "exchange"} <= names
    with engine.connect() as c:
        cs = c.execute(text("SELECT * FROM contract_state")).mappings().one()
        le = c.execute(text("SELECT * FROM ledger_entry")).mappings().one()
        st = c.execute(text("SELECT * FROM indexer_state")).mappings().one()
        bal = c.execute(text("SELECT amount FROM balance")).scalar_one()
    assert (cs["validity_epochs"], cs["epoch_zero"], cs["epoch_length"], cs["swept_epoch"]) == (
        0,
        0,
        0,
        0,
    )
    assert int(cs["total_supply"]) == 5000 and int(bal) == 5000
    assert le["block_time"] is None and le["kind"] == "issue"
    assert st["exchange_address"] is None and st["checkpoint_block"] == 99

    _alembic(engine, command.downgrade, PREVIOUS)
    assert _revision(engine) == PREVIOUS
    assert "point_lot" not in inspect(engine).get_table_names()
    assert "swept_epoch" not in _cols(engine, "contract_state")
    assert "block_time" not in _cols(engine, "ledger_entry")
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM ledger_entry")).scalar_one() == 1
    migrate(engine)  # and up again (to the latest head), the way the indexer and the API do it
    assert _revision(engine) == ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, [metadata, offchain_metadata, insights_metadata, crm_metadata])
    assert diff == []
