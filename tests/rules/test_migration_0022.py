"""Migration 0022 (the rules version) on SQLite and a fresh PostgreSQL schema: the 'rules'
counter starts at 0 and moves with a rule version, a campaign's window and an earn rule (not a
campaign's spending); down removes the triggers and the row, and up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text

from ..migrations import alembic_run, migration_engine, previous

REVISION = "0022_accept_path"
PREVIOUS = previous(REVISION)
COUNTER = text("SELECT n FROM change_counter WHERE name = 'rules'")

engine = migration_engine("mig22")

WRITES = (
    "INSERT INTO rule_version (brand_id, rule_id, version, name, trigger, conditions, effect, "
    "priority, stacking, active, current, created_at) VALUES ('b', 'r', 1, '', 'purchase', "
    "'{}', '{\"type\": \"fixed\", \"points\": 1}', 0, 'stack', true, true, 1)",
    "INSERT INTO campaign (brand_id, campaign_id, name, starts_at, ends_at, spent, created_at) "
    "VALUES ('b', 'c', '', 0, 10, 0, 1)",
    "UPDATE campaign SET ends_at = 20 WHERE campaign_id = 'c'",
    "INSERT INTO earn_rule (brand_id, currency, amount_per_point, bonuses, updated_at) "
    "VALUES ('b', 'VND', 10, '{}', 1)",
)


def _n(engine: Engine) -> int | None:
    with engine.connect() as c:
        return c.execute(COUNTER).scalar()


def test_rules_version_up_down_up(engine: Engine) -> None:
    alembic_run(engine, command.upgrade, PREVIOUS)
    alembic_run(engine, command.upgrade, REVISION)
    assert _n(engine) == 0
    for i, sql in enumerate(WRITES, start=1):
        with engine.begin() as c:
            c.execute(text(sql))
        assert _n(engine) == i, sql
    with engine.begin() as c:
        c.execute(text("UPDATE campaign SET spent = spent + 5 WHERE campaign_id = 'c'"))
    assert _n(engine) == len(WRITES)  # spending is never cached: no new version
    alembic_run(engine, command.downgrade, PREVIOUS)
    assert _n(engine) is None
    with engine.begin() as c:
        c.execute(text("UPDATE campaign SET ends_at = 30 WHERE campaign_id = 'c'"))
    alembic_run(engine, command.upgrade, REVISION)
    assert _n(engine) == 0
