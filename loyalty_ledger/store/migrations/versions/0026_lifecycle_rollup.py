"""lifecycle reads: the earn records' time index carries the columns the insights read from
the records of a month a window cuts (status, reason, member, currency, amount, items), so
those reads never visit the table (the rest comes from the rollups of 0011)

Revision ID: 0026_lifecycle_rollup
Revises: 0022_accept_path
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026_lifecycle_rollup"
down_revision: str | None = "0022_accept_path"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = [
    "brand_id",
    "ordered_at",
    "status",
    "reason",
    "member",
    "currency",
    "order_amount",
    "items_count",
]


def upgrade() -> None:
    op.create_index("ix_earn_record_by_time", "earn_record", COVERED)
    op.drop_index(op.f("ix_earn_record_brand_id_ordered_at"), table_name="earn_record")


def downgrade() -> None:
    op.create_index(
        op.f("ix_earn_record_brand_id_ordered_at"), "earn_record", ["brand_id", "ordered_at"]
    )
    op.drop_index("ix_earn_record_by_time", table_name="earn_record")
