"""Migration 0027 (SQLite's rollup triggers read a member's records through the member index):
at the previous revision a confirmed earning's fold reads the brand's records through the time
index (all of the brand's records); after the upgrade the triggers read the member's only, the
rollups they keep are the same, and it downgrades and upgrades again; on PostgreSQL a no-op."""

from __future__ import annotations

import importlib

from alembic import command
from sqlalchemy import Engine, text

from loyalty_ledger.store import migrate

from ..migrations import alembic_run, migration_engine, previous

REV = "0027_fold_by_member"
PREVIOUS = previous(REV)
mig = importlib.import_module(f"loyalty_ledger.store.migrations.versions.{REV}")
engine = migration_engine("mig27")
A, B = "0x" + "11" * 20, "0x" + "22" * 20
JAN70 = 1970 * 12  # the month of Unix times 15 and 20


def _fold_plan(eng: Engine) -> str:
    """How SQLite runs the record read of the insert trigger installed now."""
    with eng.connect() as c:
        sql = c.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'earn_record_insert_folded'")
        ).scalar_one()
        select = sql[sql.index("INSERT INTO earn_month") :].split(";")[0]
        select = select[select.index("SELECT") :].replace("NEW.", ":")
        rows = c.execute(
            text("EXPLAIN QUERY PLAN " + select),
            {"brand_id": "acme", "member": A, "ordered_at": 15},
        )
        return " ".join(str(r[-1]) for r in rows)


def _earn(eng: Engine, key: str, member: str, amount: int, at: int) -> None:
    with eng.begin() as c:
        c.execute(
            text(
                "INSERT INTO earn_record (brand_id, idem_key, member, reason, points, status,"
                " order_amount, currency, created_at, ordered_at) VALUES ('acme', :k, :m,"
                " 'purchase', 5, 'confirmed', :a, 'VND', 1, :t)"
            ),
            {"k": key, "m": member, "a": amount, "t": at},
        )


def _month(eng: Engine) -> list[tuple[object, ...]]:
    with eng.connect() as c:
        rows = c.execute(
            text(
                "SELECT member, month, records, orders, spend, first_at, last_at FROM earn_month"
                " ORDER BY member, month"
            )
        )
        return [tuple(r) for r in rows]


def test_triggers_read_by_member_and_fold_alike(engine: Engine) -> None:
    alembic_run(engine, command.upgrade, PREVIOUS)
    _earn(engine, "k1", A, 700, 15)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        assert "ix_earn_record_by_time" in _fold_plan(engine)  # the brand's records: the bug
    alembic_run(engine, command.upgrade, REV)
    if sqlite:
        assert "INDEX ix_earn_record_brand_id_member (brand_id=? AND member=?)" in _fold_plan(
            engine
        )
    _earn(engine, "k2", A, 300, 20)
    _earn(engine, "k3", B, 50, 16)
    with engine.begin() as c:  # an update refolds the old and the new month
        c.execute(text("UPDATE earn_record SET status = 'reverted' WHERE idem_key = 'k1'"))
    after = _month(engine)
    assert after == [(A, JAN70, 1, 1, 300, 20, 20), (B, JAN70, 1, 1, 50, 16, 16)]
    alembic_run(engine, command.downgrade, PREVIOUS)
    if sqlite:
        assert "ix_earn_record_by_time" in _fold_plan(engine)
    migrate(engine)  # and up again, the way the API does it
    assert _month(engine) == after
