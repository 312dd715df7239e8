"""Statements run on the database driver itself (sqlite3, psycopg) inside the open transaction
of a SQLAlchemy connection: for the accept path's few fixed statements, where SQLAlchemy's own
work per statement cost more CPU than the database's (benchmarks/bench_claims.py). A driver's
error is raised as SQLAlchemy raises it (IntegrityError for a key claimed before, ...)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


def is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


@contextmanager
def cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """A cursor of the DBAPI connection under `conn` (in its transaction), for `sql`."""
    dbapi = conn.dialect.loaded_dbapi
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cur
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
    finally:
        cur.close()


@contextmanager
def pipeline(conn: Connection, what: str) -> Iterator[Any]:
    """psycopg's pipeline mode on the connection under `conn`: the statements queued in the
    block go to the server together, its results come back at its end (one round trip)."""
    dbapi = conn.dialect.loaded_dbapi
    pg = conn.connection.driver_connection
    try:
        with pg.pipeline():  # type: ignore[union-attr]
            yield pg
    except dbapi.Error as exc:
        raise DBAPIError.instance(what, None, exc, dbapi.Error) from exc


def insert_sql(table: str, columns: Sequence[str], pg: bool, returning: bool = True) -> str:
    """An INSERT of one row of `columns` in the driver's parameter style (`returning`, on
    PostgreSQL: RETURNING id; SQLite's rowid is read from the cursor)."""
    mark = "%s" if pg else "?"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    return sql + (" RETURNING id" if pg and returning else "")


def insert_returning(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert `rows` with `insert_sql`'s statement; their ids in the order given (PostgreSQL:
    one round trip, psycopg pipelines the executemany; SQLite: each row's rowid)."""
    if not rows:
        return []
    with cursor(conn, sql) as cur:
        if is_pg(conn):
            cur.executemany(sql, rows, returning=True)
            ids = []
            while True:
                ids.append(int(cur.fetchone()[0]))
                if not cur.nextset():
                    return ids
        out = []
        for r in rows:  # sqlite3 keeps the prepared statement: microseconds each
            cur.execute(sql, r)
            out.append(int(cur.lastrowid))
        return out


def execute_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """`sql` (no RETURNING) for each of `rows`, in one executemany."""
    if rows:
        with cursor(conn, sql) as cur:
            cur.executemany(sql, rows)


def fetch_all(conn: Connection, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
    with cursor(conn, sql) as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())
