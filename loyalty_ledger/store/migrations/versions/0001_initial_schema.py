"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 22:04:14.812009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import loyalty_ledger.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "balance",
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=False),
        sa.Column("amount", loyalty_ledger.store.types.U256(), nullable=False),
        sa.PrimaryKeyConstraint("token", "holder", name=op.f("pk_balance")),
    )
    op.create_table(
        "block",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("parent_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_block")),
    )
    op.create_table(
        "contract_state",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("total_supply", loyalty_ledger.store.types.U256(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("transferable", sa.Boolean(), nullable=False),
        sa.Column("tier_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_contract_state")),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_index", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column(
            "args",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint(
            "chain_id",
            "block_number",
            "log_index",
            name=op.f("uq_event_chain_id_block_number_log_index"),
        ),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_contract_event"), ["contract", "event"], unique=False
        )

    op.create_table(
        "indexer_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("genesis_hash", sa.String(length=66), nullable=False),
        sa.Column("registry_address", sa.String(length=42), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_block", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_hash", sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indexer_state")),
    )
    op.create_table(
        "journal",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("tbl", sa.String(length=32), nullable=False),
        sa.Column(
            "key",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "old",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal")),
    )
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_block_number"), ["block_number"], unique=False)

    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("counterparty", sa.String(length=42), nullable=True),
        sa.Column("amount", loyalty_ledger.store.types.U256(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("ref", sa.String(), nullable=True),
        sa.Column("memo", sa.String(), nullable=True),
        sa.Column("by", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
        sa.UniqueConstraint(
            "block_number", "log_index", name=op.f("uq_ledger_entry_block_number_log_index")
        ),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_token_account_block_number"),
            ["token", "account", "block_number"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entry_token_counterparty_block_number"),
            ["token", "counterparty", "block_number"],
            unique=False,
        )

    op.create_table(
        "member",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("recovered_to", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_member")),
    )
    op.create_table(
        "pass",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("token_id", loyalty_ledger.store.types.U256(), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("expires_at", loyalty_ledger.store.types.U256(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("contract", "token_id", name=op.f("pk_pass")),
    )
    with op.batch_alter_table("pass", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pass_contract_owner"), ["contract", "owner"], unique=False
        )

    op.create_table(
        "program",
        sa.Column("brand_id", sa.String(length=66), nullable=False),
        sa.Column("points", sa.String(length=42), nullable=False),
        sa.Column("pass_address", sa.String(length=42), nullable=False),
        sa.Column("admin", sa.String(length=42), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_program")),
        sa.UniqueConstraint("pass_address", name=op.f("uq_program_pass_address")),
        sa.UniqueConstraint("points", name=op.f("uq_program_points")),
    )
    op.create_table(
        "role",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("role", sa.String(length=66), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.PrimaryKeyConstraint("contract", "role", "account", name=op.f("pk_role")),
    )
    op.create_table(
        "role_admin",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("role", sa.String(length=66), nullable=False),
        sa.Column("admin_role", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("contract", "role", name=op.f("pk_role_admin")),
    )
    op.create_table(
        "tier",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("tier", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("contract", "tier", name=op.f("pk_tier")),
    )


def downgrade() -> None:

    op.drop_table("tier")
    op.drop_table("role_admin")
    op.drop_table("role")
    op.drop_table("program")
    with op.batch_alter_table("pass", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pass_contract_owner"))

    op.drop_table("pass")
    op.drop_table("member")
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entry_token_counterparty_block_number"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_token_account_block_number"))

    op.drop_table("ledger_entry")
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_block_number"))

    op.drop_table("journal")
    op.drop_table("indexer_state")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_contract_event"))

    op.drop_table("event")
    op.drop_table("contract_state")
    op.drop_table("block")
    op.drop_table("balance")
