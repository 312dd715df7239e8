"""API off-chain tables: keys, SIWE nonces, perks, redemptions, earn rules and records

Revision ID: 0002_api_offchain
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_api_offchain"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("brand_id", sa.String(length=32), nullable=True),
        sa.Column("roles", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_key")),
    )
    op.create_table(
        "api_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_secret")),
    )
    op.create_table(
        "earn_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("idem_key", sa.String(length=160), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("order_amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("items_count", sa.Integer(), nullable=True),
        sa.Column("action_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earn_record")),
        sa.UniqueConstraint("brand_id", "idem_key", name=op.f("uq_earn_record_brand_id_idem_key")),
    )
    op.create_index(
        op.f("ix_earn_record_brand_id_member"), "earn_record", ["brand_id", "member"], unique=False
    )
    op.create_table(
        "earn_rule",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount_per_point", sa.BigInteger(), nullable=False),
        sa.Column(
            "bonuses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_earn_rule")),
    )
    op.create_table(
        "perk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("min_points", sa.BigInteger(), nullable=False),
        sa.Column("min_tier", sa.Integer(), nullable=True),
        sa.Column("active_pass_required", sa.Boolean(), nullable=False),
        sa.Column("partner_brand_id", sa.String(length=32), nullable=True),
        sa.Column("point_cost", sa.BigInteger(), nullable=False),
        sa.Column("per_member_limit", sa.Integer(), nullable=True),
        sa.Column("total_stock", sa.Integer(), nullable=True),
        sa.Column("redeemed_count", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=True),
        sa.Column("valid_until", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perk")),
        sa.UniqueConstraint("brand_id", "name", name=op.f("uq_perk_brand_id_name")),
    )
    op.create_table(
        "perk_usage",
        sa.Column("perk_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("perk_id", "member", name=op.f("pk_perk_usage")),
    )
    op.create_table(
        "point_hold",
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token", "member", name=op.f("pk_point_hold")),
    )
    op.create_table(
        "redemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("idem_key", sa.String(length=128), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption")),
        sa.UniqueConstraint("member", "idem_key", name=op.f("uq_redemption_member_idem_key")),
    )
    op.create_index(op.f("ix_redemption_perk_id"), "redemption", ["perk_id"], unique=False)
    op.create_table(
        "siwe_nonce",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_siwe_nonce")),
    )
    op.create_index(op.f("ix_siwe_nonce_expires_at"), "siwe_nonce", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_siwe_nonce_expires_at"), table_name="siwe_nonce")
    op.drop_table("siwe_nonce")
    op.drop_index(op.f("ix_redemption_perk_id"), table_name="redemption")
    op.drop_table("redemption")
    op.drop_table("point_hold")
    op.drop_table("perk_usage")
    op.drop_table("perk")
    op.drop_table("earn_rule")
    op.drop_index(op.f("ix_earn_record_brand_id_member"), table_name="earn_record")
    op.drop_table("earn_record")
    op.drop_table("api_secret")
    op.drop_table("api_key")
