"""change_counter: writes to the off-chain tables the insights read (earn_record, earn_rule,
survey_answer, insights_setting), counted by triggers in the writing transaction

Revision ID: 0011_change_counter
Revises: 0010_rollups
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_change_counter"
down_revision: str | None = "0010_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("earn_record", "earn_rule", "survey_answer", "insights_setting")
BUMP = "UPDATE change_counter SET n = n + 1 WHERE name = 'offchain'"


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_counter")),
    )
    op.execute("INSERT INTO change_counter (name, n) VALUES ('offchain', 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_offchain() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for t in TABLES:  # once per statement: a bulk write counts once
            op.execute(
                f"CREATE TRIGGER {t}_counted AFTER INSERT OR UPDATE OR DELETE ON {t} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_offchain()"
            )
        return
    for t in TABLES:  # SQLite triggers run per row
        for what in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {t}_{what.lower()}_counted AFTER {what} ON {t} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for t in TABLES:
            op.execute(f"DROP TRIGGER {t}_counted ON {t}")
        op.execute("DROP FUNCTION bump_offchain()")
    else:
        for t in TABLES:
            for what in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {t}_{what}_counted")
    op.drop_table("change_counter")
