"""fold by member: on SQLite, the triggers that keep earn_month and earn_member read a member's
records through the (brand_id, member) index. Since 0026 the covering time index (brand_id,
ordered_at, …) also holds every column they read, and SQLite's planner (no statistics) chose it:
every confirmed earning then read all of its brand's records, so a write cost grew with the
brand's history (a 172k-record seed took over 15 minutes instead of about one). PostgreSQL plans
each call with statistics (`earn_month_refold`) and is unchanged.

Revision ID: 0027_fold_by_member
Revises: 0026_lifecycle_rollup
"""

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0027_fold_by_member"
down_revision: str | None = "0026_lifecycle_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_MEMBER = "ix_earn_record_brand_id_member"
READ = "FROM earn_record WHERE"
TRIGGERS = (
    ("insert", "INSERT", "NEW"),
    ("delete", "DELETE", "OLD"),
    ("update_old", "UPDATE", "OLD"),
    ("update_new", "UPDATE", "NEW"),
)
_rollups = importlib.import_module("loyalty_ledger.store.migrations.versions.0011_earn_rollups")


def trigger_sql(name: str, what: str, ref: str, *, pinned: bool) -> str:
    """SQL: SQLite's trigger `earn_record_{name}_folded` (0011's), its reads of the records
    pinned to the member index or not."""
    month = _rollups.month_sql(f"{ref}.ordered_at", "sqlite")
    body = _rollups.refold_sql("sqlite", f"{ref}.brand_id", f"{ref}.member", month)
    if pinned:
        body = body.replace(READ, f"FROM earn_record INDEXED BY {BY_MEMBER} WHERE")
    return (
        f"CREATE TRIGGER earn_record_{name}_folded AFTER {what} ON earn_record"
        f" WHEN {ref}.status = 'confirmed' BEGIN {body} END"
    )


def _replace(*, pinned: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    for name, what, ref in TRIGGERS:
        op.execute(f"DROP TRIGGER earn_record_{name}_folded")
        op.execute(trigger_sql(name, what, ref, pinned=pinned))


def upgrade() -> None:
    _replace(pinned=True)


def downgrade() -> None:
    _replace(pinned=False)
