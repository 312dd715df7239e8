"""Redemptions through the outbox: the intent that burns the points, and what was reserved

Revision ID: 0012_redemption_intent
Revises: 0020_member_crm
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_redemption_intent"
down_revision: str | None = "0020_member_crm"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("redemption", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intent_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("reserved", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("hold_token", sa.String(length=42), nullable=True))
    op.create_index(op.f("ix_redemption_intent_id"), "redemption", ["intent_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_redemption_intent_id"), table_name="redemption")
    with op.batch_alter_table("redemption", schema=None) as batch_op:
        batch_op.drop_column("hold_token")
        batch_op.drop_column("reserved")
        batch_op.drop_column("intent_id")
