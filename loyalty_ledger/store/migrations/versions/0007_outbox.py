"""The outbox: outbox_intent (every chain write, queued with its idempotency key), outbox_tx
(signed transactions, recorded before they are broadcast), earn_record.intent_id

Revision ID: 0007_outbox
Revises: 0006_request_hash
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import loyalty_ledger.store.types

revision: str = "0007_outbox"
down_revision: str | None = "0006_request_hash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_intent",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column("idem_key", sa.String(length=240), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("to_address", sa.String(length=42), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=True),
        sa.Column("amount", loyalty_ledger.store.types.U256(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("ref", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("tx_id", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_intent")),
        sa.UniqueConstraint("idem_key", name=op.f("uq_outbox_intent_idem_key")),
    )
    op.create_index(
        op.f("ix_outbox_intent_signer_state_id"), "outbox_intent", ["signer", "state", "id"]
    )
    op.create_index(op.f("ix_outbox_intent_tx_id"), "outbox_intent", ["tx_id"])
    op.create_table(
        "outbox_tx",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("max_fee", sa.BigInteger(), nullable=True),
        sa.Column("tip", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_tx")),
        sa.UniqueConstraint("tx_hash", name=op.f("uq_outbox_tx_tx_hash")),
    )
    op.create_index(
        op.f("ix_outbox_tx_signer_state_nonce"), "outbox_tx", ["signer", "state", "nonce"]
    )
    with op.batch_alter_table("earn_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intent_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("earn_record", schema=None) as batch_op:
        batch_op.drop_column("intent_id")
    op.drop_index(op.f("ix_outbox_tx_signer_state_nonce"), table_name="outbox_tx")
    op.drop_table("outbox_tx")
    op.drop_index(op.f("ix_outbox_intent_tx_id"), table_name="outbox_intent")
    op.drop_index(op.f("ix_outbox_intent_signer_state_id"), table_name="outbox_intent")
    op.drop_table("outbox_intent")
