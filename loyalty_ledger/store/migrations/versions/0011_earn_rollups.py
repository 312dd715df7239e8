"""earn rollups: writes to the off-chain tables the insights read (earn_record, earn_rule,
survey_answer, insights_setting) counted by triggers in the writing transaction; earn_month
and earn_member (the confirmed earn records per brand, member and currency, per month and all
time) kept by triggers in the writing transaction, filled from the records already written; an
index of the records by time

Revision ID: 0011_earn_rollups
Revises: 0010_rollups
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_earn_rollups"
down_revision: str | None = "0010_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("earn_record", "earn_rule", "survey_answer", "insights_setting")
BUMP = "UPDATE change_counter SET n = n + 1 WHERE name = 'offchain'"
COLS = "brand_id, member, month, currency, records, orders, spend, items, first_at, last_at"
MEMBER_COLS = (
    "brand_id, member, currency, records, orders, spend, items, first_at, last_at, first_record_at"
)
# A member's bucket of this schema's rollups (schemas of one server never wait on each other).
LOCK = "pg_advisory_xact_lock(hashtext(current_schema()), hashtext({who}) & 255)"
PURCHASE = "reason = 'purchase' AND order_amount IS NOT NULL"


def month_sql(ts: str, dialect: str) -> str:
    """SQL: the UTC calendar month (year * 12 + month - 1) of Unix time `ts`."""
    if dialect == "postgresql":
        utc = f"(to_timestamp({ts}) AT TIME ZONE 'UTC')"
        return f"(EXTRACT(YEAR FROM {utc})::int * 12 + EXTRACT(MONTH FROM {utc})::int - 1)"
    return (
        f"(CAST(strftime('%Y', {ts}, 'unixepoch') AS INTEGER) * 12"
        f" + CAST(strftime('%m', {ts}, 'unixepoch') AS INTEGER) - 1)"
    )


def fold_sql(dialect: str, where: str, *, by_month: bool = True) -> str:
    """SQL: the earn_month rows (`by_month`) or earn_member rows of the confirmed records that
    match `where`."""
    month = month_sql("ordered_at", dialect)
    key = f"brand_id, member, {month}" if by_month else "brand_id, member"
    first = "" if by_month else ", MIN(ordered_at)"
    return (
        f"SELECT {key}, COALESCE(currency, ''), COUNT(*),"
        f" SUM(CASE WHEN {PURCHASE} THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN {PURCHASE} THEN order_amount ELSE 0 END),"
        f" SUM(CASE WHEN {PURCHASE} THEN COALESCE(items_count, 0) ELSE 0 END),"
        f" MIN(CASE WHEN {PURCHASE} THEN ordered_at END),"
        f" MAX(CASE WHEN {PURCHASE} THEN ordered_at END){first}"
        f" FROM earn_record WHERE status = 'confirmed' AND {where}"
        f" GROUP BY {key}, COALESCE(currency, '')"
    )


def refold_sql(dialect: str, brand: str, member: str, month: str) -> str:
    """SQL: the rollups' rows of one brand and member (earn_member) and month (earn_month)
    computed again from the records."""
    who = f"brand_id = {brand} AND member = {member}"
    where = f"{who} AND {month_sql('ordered_at', dialect)} = {month}"
    return (
        f"DELETE FROM earn_month WHERE {who} AND month = {month};"
        f" INSERT INTO earn_month ({COLS}) {fold_sql(dialect, where)};"
        f" DELETE FROM earn_member WHERE {who};"
        f" INSERT INTO earn_member ({MEMBER_COLS}) {fold_sql(dialect, who, by_month=False)};"
    )


def _add_pg() -> str:
    """PL/pgSQL: a new confirmed record (NEW) added to its rollup rows, without reading the
    records (a bulk insert stays linear), under its member bucket's lock."""
    p = "(NEW.reason = 'purchase' AND NEW.order_amount IS NOT NULL)"
    vals = (
        f"COALESCE(NEW.currency, ''), 1, CASE WHEN {p} THEN 1 ELSE 0 END,"
        f" CASE WHEN {p} THEN NEW.order_amount ELSE 0 END,"
        f" CASE WHEN {p} THEN COALESCE(NEW.items_count, 0) ELSE 0 END,"
        f" CASE WHEN {p} THEN NEW.ordered_at END, CASE WHEN {p} THEN NEW.ordered_at END"
    )
    sums = (
        "records = t.records + 1, orders = t.orders + EXCLUDED.orders,"
        " spend = t.spend + EXCLUDED.spend, items = t.items + EXCLUDED.items,"
        " first_at = LEAST(t.first_at, EXCLUDED.first_at),"
        " last_at = GREATEST(t.last_at, EXCLUDED.last_at)"
    )
    month = month_sql("NEW.ordered_at", "postgresql")
    return (
        f" PERFORM {LOCK.format(who='NEW.brand_id || NEW.member')};"
        f" INSERT INTO earn_month AS t ({COLS}) VALUES (NEW.brand_id, NEW.member, {month}, {vals})"
        f" ON CONFLICT (brand_id, month, member, currency) DO UPDATE SET {sums};"
        f" INSERT INTO earn_member AS t ({MEMBER_COLS})"
        f" VALUES (NEW.brand_id, NEW.member, {vals}, NEW.ordered_at)"
        f" ON CONFLICT (brand_id, member, currency) DO UPDATE SET {sums},"
        " first_record_at = LEAST(t.first_record_at, EXCLUDED.first_record_at);"
    )


ADD_PG = _add_pg()


def _counter() -> None:
    op.create_table(
        "change_counter",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_counter")),
    )
    op.execute("INSERT INTO change_counter (name, n) VALUES ('offchain', 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_offchain() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for t in TABLES:  # once per statement: a bulk write counts once
            op.execute(
                f"CREATE TRIGGER {t}_counted AFTER INSERT OR UPDATE OR DELETE ON {t} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_offchain()"
            )
        return
    for t in TABLES:  # SQLite triggers run per row
        for what in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {t}_{what.lower()}_counted AFTER {what} ON {t} BEGIN {BUMP}; END"
            )


def _facts() -> list[sa.Column[int] | sa.Column[str]]:
    """The columns both rollups have after their key."""
    big = ["records", "orders", "spend", "items"]
    return [
        sa.Column("currency", sa.String(length=8), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in big),
        *(sa.Column(c, sa.BigInteger(), nullable=True) for c in ("first_at", "last_at")),
    ]


def _earn_month() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "earn_month",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        *_facts(),
        sa.PrimaryKeyConstraint(
            "brand_id", "month", "member", "currency", name=op.f("pk_earn_month")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "earn_member",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        *_facts(),
        sa.Column("first_record_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("brand_id", "member", "currency", name=op.f("pk_earn_member")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_earn_record_brand_id_ordered_at"), "earn_record", ["brand_id", "ordered_at"]
    )
    op.execute(f"INSERT INTO earn_month ({COLS}) {fold_sql(dialect, '1 = 1')}")
    op.execute(
        f"INSERT INTO earn_member ({MEMBER_COLS}) {fold_sql(dialect, '1 = 1', by_month=False)}"
    )
    if dialect == "postgresql":
        # Two writers of one member's records take turns (a lock per member bucket, held to
        # commit), so each computes the group again from what the other committed.
        body = refold_sql(dialect, "b", "who", "mon")
        op.execute(
            "CREATE FUNCTION earn_month_refold(b varchar, who varchar, mon integer) RETURNS void"
            # Planned per call: a plan kept from when the table was small would scan it all.
            " LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$ BEGIN"
            f" PERFORM {LOCK.format(who='b || who')};"
            f" {body} END $$"
        )
        old = f"OLD.brand_id, OLD.member, {month_sql('OLD.ordered_at', dialect)}"
        new = f"NEW.brand_id, NEW.member, {month_sql('NEW.ordered_at', dialect)}"
        op.execute(
            "CREATE FUNCTION earn_month_fold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF TG_OP = 'INSERT' THEN IF NEW.status = 'confirmed' THEN"
            f" {ADD_PG} END IF; RETURN NULL; END IF;"
            " IF TG_OP <> 'INSERT' THEN IF OLD.status = 'confirmed' THEN"
            f" PERFORM earn_month_refold({old}); END IF; END IF;"
            " IF TG_OP <> 'DELETE' THEN IF NEW.status = 'confirmed' THEN"
            f" PERFORM earn_month_refold({new}); END IF; END IF;"
            " RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER earn_record_folded AFTER INSERT OR UPDATE OR DELETE ON earn_record"
            " FOR EACH ROW EXECUTE FUNCTION earn_month_fold()"
        )
        return
    for name, what, ref in (
        ("insert", "INSERT", "NEW"),
        ("delete", "DELETE", "OLD"),
        ("update_old", "UPDATE", "OLD"),
        ("update_new", "UPDATE", "NEW"),
    ):
        body = refold_sql(
            dialect, f"{ref}.brand_id", f"{ref}.member", month_sql(f"{ref}.ordered_at", dialect)
        )
        op.execute(
            f"CREATE TRIGGER earn_record_{name}_folded AFTER {what} ON earn_record"
            f" WHEN {ref}.status = 'confirmed' BEGIN {body} END"
        )


def upgrade() -> None:
    _counter()
    _earn_month()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER earn_record_folded ON earn_record")
        op.execute("DROP FUNCTION earn_month_fold()")
        op.execute("DROP FUNCTION earn_month_refold(varchar, varchar, integer)")
        for t in TABLES:
            op.execute(f"DROP TRIGGER {t}_counted ON {t}")
        op.execute("DROP FUNCTION bump_offchain()")
    else:
        for name in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER earn_record_{name}_folded")
        for t in TABLES:
            for what in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {t}_{what}_counted")
    op.drop_index(op.f("ix_earn_record_brand_id_ordered_at"), table_name="earn_record")
    op.drop_table("earn_member")
    op.drop_table("earn_month")
    op.drop_table("change_counter")
