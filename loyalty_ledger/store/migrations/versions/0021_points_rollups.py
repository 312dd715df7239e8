"""points rollups: earn_placed (the points of confirmed earn records whose block holds an issue
of a program's points, per brand, token, month of the earning's own time and month of that
block) kept by triggers on earn_record and ledger_entry in the writing transaction (a reorg's
rollback deletes entries: the same triggers take their earnings out), filled from the rows
already written; indexes of the records by block and of the entries by token and block time

Revision ID: 0021_points_rollups
Revises: 0025_customer_gaps
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_points_rollups"
down_revision: str | None = "0025_customer_gaps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLS = "brand_id, token, month, block_month, points, earnings"
KEY = "brand_id, token, month, block_month"
EARNED = "status = 'confirmed' AND points > 0 AND block_number IS NOT NULL"
# The earnings' own writers and the indexer take turns in a schema (PostgreSQL): each reads
# what the other committed.
LOCK = "pg_advisory_xact_lock(hashtext(current_schema()), 4096)"
SQLITE_UPSERT = (
    f" ON CONFLICT ({KEY}) DO UPDATE SET points = points + excluded.points,"
    " earnings = earnings + excluded.earnings"
)
PG_UPSERT = (
    f" ON CONFLICT ({KEY}) DO UPDATE SET points = t.points + EXCLUDED.points,"
    " earnings = t.earnings + EXCLUDED.earnings"
)


def month_sql(ts: str, dialect: str) -> str:
    """SQL: the UTC calendar month (year * 12 + month - 1) of Unix time `ts`; -1 for NULL."""
    if dialect == "postgresql":
        utc = f"(to_timestamp({ts}) AT TIME ZONE 'UTC')"
        m = f"(EXTRACT(YEAR FROM {utc})::int * 12 + EXTRACT(MONTH FROM {utc})::int - 1)"
    else:
        m = (
            f"(CAST(strftime('%Y', {ts}, 'unixepoch') AS INTEGER) * 12"
            f" + CAST(strftime('%m', {ts}, 'unixepoch') AS INTEGER) - 1)"
        )
    return f"COALESCE({m}, -1)"


def by_record(dialect: str, ref: str, sign: str) -> str:
    """SQL: record `ref` (NEW or OLD) added (`sign` '') or taken out ('-') of its rows: one per
    token with an issue in the record's block."""
    upsert = PG_UPSERT if dialect == "postgresql" else SQLITE_UPSERT
    into = "earn_placed AS t" if dialect == "postgresql" else "earn_placed"
    return (
        f"INSERT INTO {into} ({COLS}) SELECT {ref}.brand_id, token,"
        f" {month_sql(f'{ref}.ordered_at', dialect)}, {month_sql('MIN(block_time)', dialect)},"
        f" {sign}{ref}.points, {sign}1 FROM ledger_entry"
        f" WHERE block_number = {ref}.block_number AND kind = 'issue' GROUP BY token{upsert}"
    )


def by_issues(dialect: str, issues: str, sign: str) -> str:
    """SQL: the confirmed earnings of the (block_number, token, bt) rows of `issues` added or
    taken out, for the pairs whose block holds no other issue of the token (`issues` is a
    subquery with alias i; its extra condition follows in `{rest}`)."""
    upsert = PG_UPSERT if dialect == "postgresql" else SQLITE_UPSERT
    into = "earn_placed AS t" if dialect == "postgresql" else "earn_placed"
    month = month_sql("e.ordered_at", dialect)
    return (
        f"INSERT INTO {into} ({COLS}) SELECT e.brand_id, i.token, {month},"
        f" {month_sql('i.bt', dialect)}, {sign}SUM(e.points), {sign}COUNT(*)"
        f" FROM {issues} JOIN earn_record e ON e.block_number = i.block_number"
        " AND e.status = 'confirmed' AND e.points > 0 WHERE {rest}"
        f" GROUP BY e.brand_id, i.token, {month}, {month_sql('i.bt', dialect)}{upsert}"
    )


def _sqlite() -> None:
    for name, what, ref, sign in (
        ("insert", "INSERT", "NEW", ""),
        ("delete", "DELETE", "OLD", "-"),
        ("update_old", "UPDATE OF status, points, block_number, ordered_at, brand_id", "OLD", "-"),
        ("update_new", "UPDATE OF status, points, block_number, ordered_at, brand_id", "NEW", ""),
    ):
        cond = " AND ".join(f"{ref}.{c}" for c in EARNED.split(" AND "))
        op.execute(
            f"CREATE TRIGGER earn_record_{name}_placed AFTER {what} ON earn_record"
            f" WHEN {cond} BEGIN {by_record('sqlite', ref, sign)}; END"
        )
    # SQLite runs row triggers at once: the first issue of a token in a block adds its
    # earnings, the last one deleted takes them out.
    for name, what, ref, sign, other in (
        ("insert", "INSERT", "NEW", "", " AND x.id <> NEW.id"),
        ("delete", "DELETE", "OLD", "-", ""),
    ):
        none_else = (
            "NOT EXISTS (SELECT 1 FROM ledger_entry x WHERE x.block_number ="
            f" {ref}.block_number AND x.token = {ref}.token AND x.kind = 'issue'{other})"
        )
        issues = (
            f"(SELECT {ref}.block_number AS block_number, {ref}.token AS token,"
            f" {ref}.block_time AS bt) i"
        )
        body = by_issues("sqlite", issues, sign).replace("{rest}", "1 = 1")
        op.execute(
            f"CREATE TRIGGER ledger_entry_{name}_placed AFTER {what} ON ledger_entry"
            f" WHEN {ref}.kind = 'issue' AND {none_else} BEGIN {body}; END"
        )


def _pg() -> None:
    cond = " AND ".join(f"{{r}}.{c}" for c in EARNED.split(" AND "))
    old, new = cond.format(r="OLD"), cond.format(r="NEW")
    # The lock is taken for every change of a confirmed record, before `earn_record_folded`
    # takes its member bucket's (triggers fire in name order): one order of the locks in every
    # transaction, so writers of several records never wait on each other in a circle.
    op.execute(
        "CREATE FUNCTION earn_placed_record() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP <> 'INSERT' THEN IF OLD.status = 'confirmed' THEN"
        f" PERFORM {LOCK}; END IF; END IF;"
        " IF TG_OP <> 'DELETE' THEN IF NEW.status = 'confirmed' THEN"
        f" PERFORM {LOCK}; END IF; END IF;"
        f" IF TG_OP <> 'INSERT' THEN IF {old} THEN"
        f" {by_record('postgresql', 'OLD', '-')}; END IF; END IF;"
        f" IF TG_OP <> 'DELETE' THEN IF {new} THEN"
        f" {by_record('postgresql', 'NEW', '')}; END IF; END IF;"
        " RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER earn_record_a_placed AFTER INSERT OR DELETE OR UPDATE ON earn_record"
        " FOR EACH ROW EXECUTE FUNCTION earn_placed_record()"
    )
    # Statement triggers see the statement's rows together: a (block, token) pair counts when
    # no issue of the token in the block is left outside them.
    for name, rows, sign, outside in (
        ("add", "new_rows", "", " AND NOT EXISTS (SELECT 1 FROM new_rows r WHERE r.id = x.id)"),
        ("take", "old_rows", "-", ""),
    ):
        issues = (
            f"(SELECT block_number, token, MIN(block_time) AS bt FROM {rows}"
            " WHERE kind = 'issue' GROUP BY block_number, token) i"
        )
        rest = (
            "NOT EXISTS (SELECT 1 FROM ledger_entry x WHERE x.block_number = i.block_number"
            f" AND x.token = i.token AND x.kind = 'issue'{outside})"
        )
        body = by_issues("postgresql", issues, sign).replace("{rest}", rest)
        op.execute(
            f"CREATE FUNCTION earn_placed_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF EXISTS (SELECT 1 FROM {rows} WHERE kind = 'issue') THEN PERFORM {LOCK};"
            f" {body}; END IF; RETURN NULL; END $$"
        )
        what, table = ("INSERT", "NEW") if name == "add" else ("DELETE", "OLD")
        op.execute(
            f"CREATE TRIGGER ledger_entry_placed_{name} AFTER {what} ON ledger_entry"
            f" REFERENCING {table} TABLE AS {rows} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION earn_placed_{name}()"
        )


def _fill(dialect: str) -> None:
    """The rows already written."""
    issues = (
        "(SELECT block_number, token, MIN(block_time) AS bt FROM ledger_entry"
        " WHERE kind = 'issue' GROUP BY block_number, token) i"
    )
    month = month_sql("e.ordered_at", dialect)
    op.execute(
        f"INSERT INTO earn_placed ({COLS}) SELECT e.brand_id, i.token, {month},"
        f" {month_sql('i.bt', dialect)}, SUM(e.points), COUNT(*) FROM {issues}"
        " JOIN earn_record e ON e.block_number = i.block_number"
        " AND e.status = 'confirmed' AND e.points > 0"
        f" GROUP BY e.brand_id, i.token, {month}, {month_sql('i.bt', dialect)}"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "earn_placed",
        sa.Column("brand_id", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("block_month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("earnings", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "brand_id", "token", "month", "block_month", name=op.f("pk_earn_placed")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_earn_record_block_number"), "earn_record", ["block_number"])
    op.create_index(
        op.f("ix_ledger_entry_token_block_time"), "ledger_entry", ["token", "block_time"]
    )
    _fill(dialect)
    if dialect == "postgresql":
        _pg()
    else:
        _sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER earn_record_a_placed ON earn_record")
        op.execute("DROP TRIGGER ledger_entry_placed_add ON ledger_entry")
        op.execute("DROP TRIGGER ledger_entry_placed_take ON ledger_entry")
        op.execute("DROP FUNCTION earn_placed_record()")
        op.execute("DROP FUNCTION earn_placed_add()")
        op.execute("DROP FUNCTION earn_placed_take()")
    else:
        for name in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER earn_record_{name}_placed")
        for name in ("insert", "delete"):
            op.execute(f"DROP TRIGGER ledger_entry_{name}_placed")
    op.drop_index(op.f("ix_ledger_entry_token_block_time"), table_name="ledger_entry")
    op.drop_index(op.f("ix_earn_record_block_number"), table_name="earn_record")
    op.drop_table("earn_placed")
