"""The mirror's reorg window: indexer_state.reorg_window (blocks kept for reorg handling)

Revision ID: 0007_reorg_window
Revises: 0006_request_hash
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_reorg_window"
down_revision: str | None = "0007_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for mirrors built before: the indexer records the window of their next run.
    with op.batch_alter_table("indexer_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reorg_window", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indexer_state", schema=None) as batch_op:
        batch_op.drop_column("reorg_window")
