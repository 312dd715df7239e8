"""Rollups of the points history kept by the indexer: ledger_month (entries and points per
program, kind and month) and gift_party (gifts sent and received per program and member), filled
from the history already mirrored

Revision ID: 0010_rollups
Revises: 0009_insights_settings
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import loyalty_ledger.store.types

revision: str = "0010_rollups"
down_revision: str | None = "0009_insights_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

U256 = loyalty_ledger.store.types.U256


def _month(ts: int | None) -> int:
    if ts is None:
        return -1
    d = datetime.fromtimestamp(ts, UTC)
    return d.year * 12 + d.month - 1


def upgrade() -> None:
    op.create_table(
        "ledger_month",
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("amount", U256(), nullable=False),
        sa.PrimaryKeyConstraint("token", "month", "kind", name=op.f("pk_ledger_month")),
    )
    op.create_table(
        "gift_party",
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("sent", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token", "member", name=op.f("pk_gift_party")),
    )
    # The history mirrored so far, folded in Python (exact for any uint256 amount).
    conn = op.get_bind()
    entry = sa.table(
        "ledger_entry",
        sa.column("token"),
        sa.column("kind"),
        sa.column("account"),
        sa.column("counterparty"),
        sa.column("amount", U256()),
        sa.column("block_time"),
    )
    months: dict[tuple[str, int, str], list[int]] = defaultdict(lambda: [0, 0])
    gifts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    q = sa.select(
        entry.c.token,
        entry.c.kind,
        entry.c.account,
        entry.c.counterparty,
        entry.c.amount,
        entry.c.block_time,
    )
    for token, kind, account, counterparty, amount, block_time in conn.execute(q):
        if int(amount):
            row = months[(token, _month(block_time), kind)]
            row[0] += 1
            row[1] += int(amount)
        if kind == "gift":
            gifts[(token, account)][0] += 1
            if counterparty is not None:
                gifts[(token, counterparty)][1] += 1
    lm = sa.table(
        "ledger_month",
        sa.column("token"),
        sa.column("month"),
        sa.column("kind"),
        sa.column("entries"),
        sa.column("amount", U256()),
    )
    gp = sa.table(
        "gift_party",
        sa.column("token"),
        sa.column("member"),
        sa.column("sent"),
        sa.column("received"),
    )
    rows = [
        {"token": t, "month": m, "kind": k, "entries": n, "amount": a}
        for (t, m, k), (n, a) in months.items()
    ]
    for i in range(0, len(rows), 1000):
        conn.execute(lm.insert(), rows[i : i + 1000])
    parties = [
        {"token": t, "member": w, "sent": s, "received": r} for (t, w), (s, r) in gifts.items()
    ]
    for i in range(0, len(parties), 1000):
        conn.execute(gp.insert(), parties[i : i + 1000])


def downgrade() -> None:
    op.drop_table("gift_party")
    op.drop_table("ledger_month")
