"""Insights: each brand's settings (the churn window in days)

Revision ID: 0009_insights_settings
Revises: 0008_reorg_window
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_insights_settings"
down_revision: str | None = "0008_reorg_window"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insights_setting",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("churn_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_insights_setting")),
    )


def downgrade() -> None:
    op.drop_table("insights_setting")
