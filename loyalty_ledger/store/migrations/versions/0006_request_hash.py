"""Idempotency: a hash of the canonical request body on earn records and redemptions, so a
retry with the same key but another body is answered 409 instead of replaying the first record

Revision ID: 0006_request_hash
Revises: 0005_expiry_exchange
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_request_hash"
down_revision: str | None = "0005_expiry_exchange"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("earn_record", "redemption")


def upgrade() -> None:
    # Nullable: rows written before this migration have no hash, and any retry replays them.
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("request_hash")
