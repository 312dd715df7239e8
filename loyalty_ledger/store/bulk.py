"""Bulk writes below the ORM: DBAPI executemany on SQLite, COPY into a temp table on PostgreSQL.

Rows are tuples in `cols` order holding Python values; `U256` columns take ints and JSON
columns take already-serialised JSON text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.types import JSON

from .types import U256


def _sqlite_prep(table: Table, cols: Sequence[str]) -> list[int]:
    """Positions of U256 columns (stored as decimal text on SQLite)."""
    return [i for i, c in enumerate(cols) if isinstance(table.c[c].type, U256)]


def write(
    conn: Connection,
    table: Table,
    cols: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
    assume_new: bool = False,
) -> None:
    """INSERT rows; on a `conflict` key clash do nothing, or update the `update` columns.

    `assume_new`: the caller knows no row can clash (PostgreSQL then COPYs straight into the
    table; a clash raises IntegrityError instead of being skipped).
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        if assume_new and not update:
            _pg_copy_direct(conn, table, cols, rows)
        else:
            _pg_copy(conn, table, cols, rows, conflict, update)
        return
    u256 = _sqlite_prep(table, cols)
    if u256:
        conv = []
        for r in rows:
            lr = list(r)
            for i in u256:
                if lr[i] is not None:
                    lr[i] = str(lr[i])
            conv.append(tuple(lr))
        rows = conv
    collist = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    action = (
        "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in update)
        if update
        else "DO NOTHING"
    )
    sql = (
        f'INSERT INTO "{table.name}" ({collist}) VALUES ({marks}) '
        f"ON CONFLICT ({', '.join(conflict)}) {action}"
    )
    conn.exec_driver_sql(sql, list(rows))


def _pg_copy_direct(
    conn: Connection, table: Table, cols: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    collist = ", ".join(f'"{c}"' for c in cols)
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    with dbapi.cursor() as cur, cur.copy(f'COPY "{table.name}" ({collist}) FROM STDIN') as copy:
        for r in rows:
            copy.write_row(r)


def _pg_copy(
    conn: Connection,
    table: Table,
    cols: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    tmp = f"_bulk_{table.name}"
    collist = ", ".join(f'"{c}"' for c in cols)
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    with dbapi.cursor() as cur:
        cur.execute(
            f'CREATE TEMP TABLE IF NOT EXISTS "{tmp}" ON COMMIT DELETE ROWS AS '
            f'SELECT {collist} FROM "{table.name}" WITH NO DATA'
        )
        cur.execute(f'TRUNCATE "{tmp}"')
        with cur.copy(f'COPY "{tmp}" ({collist}) FROM STDIN') as copy:
            for r in rows:
                copy.write_row(r)
        action = (
            "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in update)
            if update
            else "DO NOTHING"
        )
        cur.execute(
            f'INSERT INTO "{table.name}" ({collist}) SELECT {collist} FROM "{tmp}" '
            f"ON CONFLICT ({', '.join(conflict)}) {action}"
        )


def is_json(table: Table, col: str) -> bool:
    return isinstance(table.c[col].type, JSON)
