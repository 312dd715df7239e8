"""Customers: the per-client sending limit of email codes in SQL (shared by API processes)

Revision ID: 0025_customer_gaps
Revises: 0012_redemption_intent
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_customer_gaps"
down_revision: str | None = "0012_redemption_intent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_client_limit",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_email_client_limit")),
    )
    op.create_index(
        op.f("ix_email_client_limit_window_start"),
        "email_client_limit",
        ["window_start"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_email_client_limit_window_start"), table_name="email_client_limit")
    op.drop_table("email_client_limit")
