"""Migrations 0014 (and 0015, tiers) on SQLite and a fresh PostgreSQL schema: each brand's
earn rule becomes version 1 of its default rules (the earnings it pays stay the same), the
models match, down and up again."""

from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from loyalty_ledger.programme.rules import store
from loyalty_ledger.store import rules_tables  # noqa: F401  (registers the tables)
from loyalty_ledger.store.models import metadata
from loyalty_ledger.store.offchain import offchain_metadata

from ..migrations import alembic_run, migration_engine, previous

REVISION = "0014_earning_rules"
PREVIOUS = previous(REVISION)
TIERS = ("tier_rule", "tier_state", "tier_change")
NEW = ("rule_version", "campaign", "rule_usage", "earn_line", "rule_member")

engine = migration_engine("mig14")


def test_earn_rules_become_default_rules(engine: Engine) -> None:
    alembic_run(engine, command.upgrade, PREVIOUS)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO earn_rule (brand_id, currency, amount_per_point, bonuses, updated_at)"
                " VALUES ('acme', 'VND', 2500, :b, 1)"
            ),
            {"b": json.dumps({"review": 7, "visit": 0})},
        )
        c.execute(
            text(
                "INSERT INTO earn_record (brand_id, idem_key, member, reason, points, status, "
                "created_at, ordered_at) VALUES ('acme', 'order:1', :m, 'purchase', 5, "
                "'confirmed', 1, 1)"
            ),
            {"m": "0x" + "ab" * 20},
        )
    alembic_run(engine, command.upgrade, REVISION)
    rules = {r["rule_id"]: r for r in store.list_rules(engine=engine, brand_id="acme")}
    assert set(rules) == {"base-rate", "bonus-review", "bonus-visit"}
    assert rules["base-rate"]["effect"] == {"type": "per_amount", "amount_per_point": 2500}
    assert rules["base-rate"]["version"] == 1 and rules["base-rate"]["trigger"] == "purchase"
    assert rules["bonus-review"]["effect"] == {"type": "fixed", "points": 7}
    assert rules["bonus-review"]["trigger"] == "action:review"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT points, channel, store_id, tags FROM earn_record")).one()
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, [metadata, offchain_metadata])
    assert tuple(row) == (5, None, None, None)
    mine = [
        d for d in diff if any(n in repr(d) for n in (*NEW, "'channel'", "'store_id'", "'tags'"))
    ]
    assert mine == []
    alembic_run(engine, command.downgrade, PREVIOUS)
    assert not set(NEW) & set(inspect(engine).get_table_names())
    assert "channel" not in {c["name"] for c in inspect(engine).get_columns("earn_record")}
    alembic_run(engine, command.upgrade, "head")  # through 0015_tiers
    assert set(NEW) | set(TIERS) <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, [metadata, offchain_metadata])
    assert [d for d in diff if any(n in repr(d) for n in (*NEW, *TIERS))] == []
    alembic_run(engine, command.downgrade, REVISION)
    assert not set(TIERS) & set(inspect(engine).get_table_names())
