"""Customers without a wallet: accounts with sealed keys, sessions, email codes, passkeys,
WebAuthn challenges, vouchers, brand member settings

Revision ID: 0017_customers
Revises: 0009_insights_settings
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_customers"
down_revision: str | None = "0009_insights_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
TABLES = (
    "webauthn_challenge",
    "voucher",
    "passkey",
    "member_session",
    "member_account",
    "email_code",
    "brand_member_setting",
)


def upgrade() -> None:
    op.create_table(
        "brand_member_setting",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("step_up_above", sa.BigInteger(), nullable=False),
        sa.Column("voucher_ttl", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_brand_member_setting")),
    )
    op.create_table(
        "email_code",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("sent_in_window", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_email_code")),
    )
    op.create_table(
        "member_account",
        sa.Column("member_id", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("sealed_key", sa.Text(), nullable=True),
        sa.Column("kek_id", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("moved_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_account")),
        sa.UniqueConstraint("address", name=op.f("uq_member_account_address")),
        sa.UniqueConstraint("email", name=op.f("uq_member_account_email")),
    )
    op.create_table(
        "member_session",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("auth_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("client", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_member_session")),
    )
    op.create_index(op.f("ix_member_session_address"), "member_session", ["address"], unique=False)
    op.create_table(
        "passkey",
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("member_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_passkey")),
    )
    op.create_index(op.f("ix_passkey_member_id"), "passkey", ["member_id"], unique=False)
    op.create_table(
        "voucher",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("used_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_voucher")),
        sa.UniqueConstraint("redemption_id", name=op.f("uq_voucher_redemption_id")),
    )
    op.create_index(op.f("ix_voucher_member"), "voucher", ["member"], unique=False)
    op.create_table(
        "webauthn_challenge",
        sa.Column("challenge", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.String(length=16), nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("challenge", name=op.f("pk_webauthn_challenge")),
    )
    op.create_index(
        op.f("ix_webauthn_challenge_expires_at"), "webauthn_challenge", ["expires_at"], unique=False
    )


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
