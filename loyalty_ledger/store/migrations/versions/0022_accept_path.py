"""The rules version: a `change_counter` row ('rules') bumped by triggers in the transaction that
changes what live earning evaluates (rule versions, campaign windows, tier rules, earn rules), so
every API process can keep a brand's rules in memory and check with one cheap read per request
that they are still current

Revision ID: 0022_accept_path
Revises: 0021_points_rollups
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_accept_path"
down_revision: str | None = "0021_points_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE change_counter SET n = n + 1 WHERE name = 'rules'"
# (table, the writes that change what earning evaluates). A campaign's spending is checked
# in SQL by every earning (never cached): only its window counts.
WATCHED = (
    ("rule_version", ("INSERT", "UPDATE", "DELETE")),
    ("campaign", ("INSERT", "UPDATE OF starts_at, ends_at", "DELETE")),
    ("tier_rule", ("INSERT", "UPDATE", "DELETE")),
    ("earn_rule", ("INSERT", "UPDATE", "DELETE")),
)


def _name(table: str, what: str) -> str:
    return f"{table}_{what.split()[0].lower()}_rules_counted"


def upgrade() -> None:
    op.execute("INSERT INTO change_counter (name, n) VALUES ('rules', 0)")
    if op.get_bind().dialect.name == "postgresql":
        # Per row, not per statement: a statement that changes nothing (the first UPDATE of a
        # rule's versions that has none yet) must not lock the counter, or two first edits of
        # the same rule deadlock (one on the counter, the other on the new version's key).
        op.execute(
            "CREATE FUNCTION bump_rules() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table, whats in WATCHED:
            for what in whats:
                op.execute(
                    f"CREATE TRIGGER {_name(table, what)} AFTER {what} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION bump_rules()"
                )
        return
    for table, whats in WATCHED:
        for what in whats:
            op.execute(
                f"CREATE TRIGGER {_name(table, what)} AFTER {what} ON {table} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table, whats in WATCHED:
        for what in whats:
            op.execute(f"DROP TRIGGER {_name(table, what)}" + (f" ON {table}" if pg else ""))
    if pg:
        op.execute("DROP FUNCTION bump_rules()")
    op.execute("DELETE FROM change_counter WHERE name = 'rules'")
