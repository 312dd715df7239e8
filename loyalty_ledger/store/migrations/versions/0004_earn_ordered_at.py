"""Earn records: the order's own point-of-sale time (ordered_at), back-filled from created_at

Revision ID: 0004_earn_ordered_at
Revises: 0003_insights_survey
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_earn_ordered_at"
down_revision: str | None = "0003_insights_survey"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable first, so existing rows can take it; then back-fill; then NOT NULL. Batch mode
    # makes the NOT NULL change work on SQLite (it rebuilds the table there).
    with op.batch_alter_table("earn_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ordered_at", sa.BigInteger(), nullable=True))
    op.execute(sa.text("UPDATE earn_record SET ordered_at = created_at WHERE ordered_at IS NULL"))
    with op.batch_alter_table("earn_record", schema=None) as batch_op:
        batch_op.alter_column("ordered_at", existing_type=sa.BigInteger(), nullable=False)
    # No index on (brand_id, ordered_at): the metrics read most of a brand's rows, and SQLite
    # chose that index for the range and ran them 2-3x slower (benchmarks/bench_insights.py).


def downgrade() -> None:
    with op.batch_alter_table("earn_record", schema=None) as batch_op:
        batch_op.drop_column("ordered_at")
