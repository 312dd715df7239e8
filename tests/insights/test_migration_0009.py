"""Migration 0009 (insights_setting): a 0008 database with survey answers upgrades with its rows
intact, the settings work, and it downgrades and upgrades again; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.insights.settings import get_settings, set_settings
from loyalty_ledger.store import migrate

from ..migrations import alembic_run, migration_engine

REV, PREVIOUS = "0009_insights_settings", "0008_reorg_window"


engine = migration_engine("mig9")
_alembic = alembic_run


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_upgrade_keeps_answers_then_down_and_up(engine: Engine) -> None:
    _alembic(engine, command.upgrade, PREVIOUS)
    assert "insights_setting" not in inspect(engine).get_table_names()
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO survey_answer (brand_id, survey_id, member, score, comment, "
                "answered_at, created_at) VALUES ('acme', 's1', :m, 9, '', 1, 1)"
            ),
            {"m": "0x" + "ab" * 20},
        )
    _alembic(engine, command.upgrade, REV)
    assert get_settings(engine=engine, brand_id="acme")["churn_days"] == 90  # no row: default
    assert set_settings(engine=engine, brand_id="acme", churn_days=60)["churn_days"] == 60
    assert set_settings(engine=engine, brand_id="acme", churn_days=45)["churn_days"] == 45
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM insights_setting")).scalar_one() == 1
        assert c.execute(text("SELECT count(*) FROM survey_answer")).scalar_one() == 1
    _alembic(engine, command.downgrade, PREVIOUS)
    assert "insights_setting" not in inspect(engine).get_table_names()
    migrate(engine)  # and up again, the way the API does it
    assert "insights_setting" in inspect(engine).get_table_names()
    assert get_settings(engine=engine, brand_id="acme")["churn_days"] == 90
    for bad in (0, 731, -5, True, "90"):
        with pytest.raises(InvalidInput):
            set_settings(engine=engine, brand_id="acme", churn_days=bad)  # type: ignore[arg-type]
