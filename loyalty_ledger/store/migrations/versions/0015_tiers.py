"""Tiers: each brand's tier rule, the tier the job set per member, and the changes it made

Revision ID: 0015_tiers
Revises: 0014_earning_rules
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_tiers"
down_revision: str | None = "0014_earning_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tier_rule",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("thresholds", JSON, nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_tier_rule")),
    )
    op.create_table(
        "tier_state",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("below_since", sa.BigInteger(), nullable=True),
        sa.Column("evaluated_at", sa.BigInteger(), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", "member", name=op.f("pk_tier_state")),
    )
    op.create_table(
        "tier_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("from_tier", sa.Integer(), nullable=False),
        sa.Column("to_tier", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("idem_key", sa.String(length=200), nullable=False),
        sa.Column("operation_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_change")),
        sa.UniqueConstraint("idem_key", name=op.f("uq_tier_change_idem_key")),
    )
    op.create_index(op.f("ix_tier_change_brand_id_at"), "tier_change", ["brand_id", "at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tier_change_brand_id_at"), table_name="tier_change")
    for name in ("tier_change", "tier_state", "tier_rule"):
        op.drop_table(name)
