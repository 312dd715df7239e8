"""Insights: NPS survey answers

Revision ID: 0003_insights_survey
Revises: 0002_api_offchain
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_insights_survey"
down_revision: str | None = "0002_api_offchain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("answered_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answer")),
        sa.UniqueConstraint(
            "brand_id",
            "survey_id",
            "member",
            name=op.f("uq_survey_answer_brand_id_survey_id_member"),
        ),
    )
    op.create_index(
        op.f("ix_survey_answer_brand_id_answered_at"),
        "survey_answer",
        ["brand_id", "answered_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_survey_answer_brand_id_answered_at"), table_name="survey_answer")
    op.drop_table("survey_answer")
