"""Migration 0028 (the member index covers what the time index covers): the statement a claim
group runs for its members' facts counts a member's purchases by the brand's whole history at the
previous revision on SQLite, and by the member after it (the same facts); it downgrades and
upgrades again; on PostgreSQL the index is replaced alike."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from loyalty_ledger.programme.claim_sql import _facts_sqlite, group_facts
from loyalty_ledger.store import migrate

from ..migrations import alembic_run, migration_engine, previous

REV = "0028_member_index_covers"
PREVIOUS = previous(REV)
NAME = "ix_earn_record_brand_id_member"
A, B = "0x" + "11" * 20, "0x" + "22" * 20
PASS = "0x" + "33" * 20
engine = migration_engine("mig28")


def _columns(eng: Engine) -> list[str]:
    found = [i for i in inspect(eng).get_indexes("earn_record") if i["name"] == NAME]
    return [str(c) for c in found[0]["column_names"]] if found else []


def _plan(eng: Engine) -> str:
    """How SQLite runs a claim group's facts statement (one claim)."""
    with eng.connect() as c:
        rows = c.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + _facts_sqlite(1), (0, "acme", A, A, PASS, 1)
        )
        return " ".join(str(r[-1]) for r in rows)


def _facts(eng: Engine) -> list[dict[str, object]]:
    with eng.begin() as c:
        return group_facts(c, [("acme", A, PASS, True), ("acme", B, PASS, True)])


def test_a_members_purchases_are_counted_by_the_member(engine: Engine) -> None:
    alembic_run(engine, command.upgrade, PREVIOUS)
    assert _columns(engine) == ["brand_id", "member"]
    with engine.begin() as c:
        for k, (who, reason) in enumerate([(A, "purchase"), (A, "purchase"), (A, "signup")]):
            c.execute(
                text(
                    "INSERT INTO earn_record (brand_id, idem_key, member, reason, points, status,"
                    " created_at, ordered_at) VALUES ('acme', :k, :m, :r, 5, 'confirmed', 1, 2)"
                ),
                {"k": f"k{k}", "m": who, "r": reason},
            )
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        assert "COVERING INDEX ix_earn_record_by_time (brand_id=?)" in _plan(engine)  # the bug
    before = _facts(engine)
    assert [f["orders"] for f in before] == [2, 0]
    alembic_run(engine, command.upgrade, REV)
    assert _columns(engine)[:3] == ["brand_id", "member", "reason"]
    if sqlite:
        assert f"INDEX {NAME} (brand_id=? AND member=? AND reason=?)" in _plan(engine)
    assert _facts(engine) == before
    alembic_run(engine, command.downgrade, PREVIOUS)
    assert _columns(engine) == ["brand_id", "member"]
    migrate(engine)  # and up again, the way the API does it
    assert _columns(engine)[:3] == ["brand_id", "member", "reason"] and _facts(engine) == before
