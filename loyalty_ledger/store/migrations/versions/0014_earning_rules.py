"""Earning rules: versioned rules, campaigns, per-member usage, earn lines, member profiles;
orders keep channel, store id and product tags; each brand's earn rule becomes default rules

Revision ID: 0014_earning_rules
Revises: 0009_insights_settings
"""

import json
import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_earning_rules"
down_revision: str | None = "0011_earn_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _tables() -> None:
    op.create_table(
        "rule_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("effect", JSON, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("stacking", sa.String(length=16), nullable=False),
        sa.Column("limit_count", sa.Integer(), nullable=True),
        sa.Column("limit_period", sa.String(length=8), nullable=True),
        sa.Column("campaign_id", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_version")),
        sa.UniqueConstraint(
            "brand_id", "rule_id", "version", name=op.f("uq_rule_version_brand_id_rule_id_version")
        ),
    )
    op.create_index(
        op.f("ix_rule_version_brand_id_current"), "rule_version", ["brand_id", "current"]
    )
    op.create_table(
        "campaign",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=False),
        sa.Column("budget", sa.BigInteger(), nullable=True),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", "campaign_id", name=op.f("pk_campaign")),
    )
    op.create_table(
        "rule_usage",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "brand_id", "rule_id", "member", "period", name=op.f("pk_rule_usage")
        ),
    )
    op.create_table(
        "earn_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("earn_id", sa.BigInteger(), nullable=False),
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=True),
        sa.Column("why", sa.String(length=500), nullable=False),
        sa.Column("usage_member", sa.String(length=42), nullable=True),
        sa.Column("usage_period", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earn_line")),
    )
    op.create_index(op.f("ix_earn_line_earn_id"), "earn_line", ["earn_id"])
    op.create_index(op.f("ix_earn_line_brand_id_rule_id"), "earn_line", ["brand_id", "rule_id"])
    op.create_table(
        "rule_member",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("birth_month", sa.Integer(), nullable=True),
        sa.Column("referral_code", sa.String(length=16), nullable=True),
        sa.Column("referred_by", sa.String(length=42), nullable=True),
        sa.Column("joined_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", "member", name=op.f("pk_rule_member")),
        sa.UniqueConstraint(
            "brand_id", "referral_code", name=op.f("uq_rule_member_brand_id_referral_code")
        ),
    )


def _default_rules() -> None:
    """Each brand's earn rule (rate + action bonuses) becomes version 1 of its default rules."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT brand_id, amount_per_point, bonuses FROM earn_rule"))
    t = sa.table(
        "rule_version",
        *(sa.column(c) for c in ("brand_id", "rule_id", "version", "name", "trigger")),
        sa.column("conditions", JSON),
        sa.column("effect", JSON),
        *(sa.column(c) for c in ("priority", "stacking", "active", "current", "created_at")),
    )
    now, out = int(time.time()), []
    for brand_id, rate, bonuses in rows:
        base = {"brand_id": brand_id, "version": 1, "conditions": {}, "priority": 0}
        base |= {"stacking": "stack", "active": True, "current": True, "created_at": now}
        out.append(
            base
            | {
                "rule_id": "base-rate",
                "name": "Base rate",
                "trigger": "purchase",
                "effect": {"type": "per_amount", "amount_per_point": int(rate)},
            }
        )
        if isinstance(bonuses, str):  # SQLite returns JSON as text through sa.text
            bonuses = json.loads(bonuses)
        for action, pts in sorted((bonuses or {}).items()):
            out.append(
                base
                | {
                    "rule_id": f"bonus-{action}",
                    "name": f"{action} bonus",
                    "trigger": f"action:{action}",
                    "effect": {"type": "fixed", "points": int(pts)},
                }
            )
    if out:
        op.bulk_insert(t, out)


def upgrade() -> None:
    _tables()
    with op.batch_alter_table("earn_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("store_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.String(length=500), nullable=True))
    _default_rules()


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35 has it): a batch rebuild of earn_record would drop
    # the triggers that keep the earn rollups (0011).
    for column in ("tags", "store_id", "channel"):
        op.execute(f"ALTER TABLE earn_record DROP COLUMN {column}")
    for name in ("rule_member", "earn_line", "rule_usage", "campaign", "rule_version"):
        op.drop_table(name)
