"""Point expiry and the coalition exchange: point_lot, exchange, the programs' expiry clock and
policy on contract_state, ledger_entry.block_time, indexer_state.exchange_address

Revision ID: 0005_expiry_exchange
Revises: 0004_earn_ordered_at
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loyalty_ledger.store.types

revision: str = "0005_expiry_exchange"
down_revision: str | None = "0004_earn_ordered_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

U256 = loyalty_ledger.store.types.U256
CLOCK = ("validity_epochs", "epoch_zero", "epoch_length", "swept_epoch")


def upgrade() -> None:
    op.create_table(
        "point_lot",
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=False),
        sa.Column("expiry_epoch", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("amount", U256(), nullable=False),
        sa.PrimaryKeyConstraint("token", "holder", "expiry_epoch", name=op.f("pk_point_lot")),
    )
    op.create_index(op.f("ix_point_lot_token_expiry_epoch"), "point_lot", ["token", "expiry_epoch"])
    op.create_table(
        "exchange",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("from_brand", sa.String(length=66), nullable=False),
        sa.Column("to_brand", sa.String(length=66), nullable=False),
        sa.Column("rate_from", U256(), nullable=False),
        sa.Column("rate_to", U256(), nullable=False),
        sa.Column("daily_cap", U256(), nullable=False),
        sa.Column("budget", U256(), nullable=False),
        sa.Column("issued", U256(), nullable=False),
        sa.Column("approved_from", sa.Boolean(), nullable=False),
        sa.Column("approved_to", sa.Boolean(), nullable=False),
        sa.Column("paused_from", sa.Boolean(), nullable=False),
        sa.Column("paused_to", sa.Boolean(), nullable=False),
        sa.Column("paused_operator", sa.Boolean(), nullable=False),
        sa.Column("opened_block", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange")),
    )
    # Existing programs get "no clock" (0): their points never expired, which is what the
    # contracts they ran said until a policy was set.
    with op.batch_alter_table("contract_state", schema=None) as batch_op:
        for name in CLOCK:
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            )
    # Rows indexed before keep NULL: the mirror never stored block times (rebuild to fill them).
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("block_time", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("indexer_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exchange_address", sa.String(length=42), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indexer_state", schema=None) as batch_op:
        batch_op.drop_column("exchange_address")
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_column("block_time")
    with op.batch_alter_table("contract_state", schema=None) as batch_op:
        for name in reversed(CLOCK):
            batch_op.drop_column(name)
    op.drop_table("exchange")
    op.drop_index(op.f("ix_point_lot_token_expiry_epoch"), table_name="point_lot")
    op.drop_table("point_lot")
