"""Hot reads of the embedded SQLite store without the pool: one plain sqlite3 connection per
thread, read-only, for the few statements a request on the hot path needs.

SQLAlchemy's pool checkout, statement cache and row processing cost ~10x a small indexed read on
SQLite; this reader pays only for the read. In WAL mode readers never wait for the writer, and a
short busy timeout keeps a rare lock (a migration) from stalling the caller: it gets
`ReaderBusy` and takes the ordinary path instead. PostgreSQL has no such reader (`for_engine`
answers None): its reads go through the engine.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text

BUSY_MS = 50  # a locked database is the ordinary path's business, not the hot path's


class ReaderBusy(Exception):
    """The hot reader could not read now (locked, or no such table yet): use the engine."""


class SqliteReader:
    """Per-thread read-only connections to one SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._version_conn: sqlite3.Connection | None = None
        self._version_lock = threading.Lock()
        self.memo: dict[Any, Any] = {}  # small facts callers keep per database (they verify them)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
            conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            conn.execute("PRAGMA query_only=1")
            self._local.conn = conn
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same committed state."""
        conn = self._conn()
        try:
            conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise ReaderBusy(str(exc)) from None
        try:
            yield conn
        except sqlite3.Error as exc:
            raise ReaderBusy(str(exc)) from None
        finally:
            conn.execute("COMMIT")

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of one statement (its own snapshot), or None."""
        try:
            row: tuple[Any, ...] | None = self._conn().execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise ReaderBusy(str(exc)) from None
        return row

    def data_version(self) -> int:
        """Changes whenever any other connection (any process) commits to the database.

        One connection answers for every thread: the numbers of two connections are not
        comparable."""
        with self._version_lock:
            try:
                if self._version_conn is None:
                    self._version_conn = sqlite3.connect(
                        self.path, isolation_level=None, check_same_thread=False
                    )
                    self._version_conn.execute("PRAGMA query_only=1")
                return int(self._version_conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise ReaderBusy(str(exc)) from None


_readers: dict[str, SqliteReader] = {}
_lock = threading.Lock()


def for_engine(engine: Engine) -> SqliteReader | None:
    """The hot reader of `engine`'s SQLite file (shared per file), or None (PostgreSQL, memory)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = url.database
    with _lock:
        reader = _readers.get(path)
        if reader is None:
            reader = _readers[path] = SqliteReader(path)
    return reader


def database_version(engine: Engine) -> str:
    """A token that changes whenever anything is committed to the database after it was read
    (data read after it is never older): SQLite's data version, PostgreSQL's snapshot."""
    reader = for_engine(engine)
    if reader is not None:
        return f"sqlite:{reader.data_version()}"
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            return f"never:{id(conn)}"  # no version to watch: every read is new
        return str(conn.execute(text("SELECT pg_current_snapshot()::text")).scalar_one())


def offchain_version(engine: Engine) -> str:
    """A token that changes whenever the earn records, earn rules or survey answers change (the
    `offchain` change counter, bumped by triggers in the writing transaction)."""
    sql = "SELECT n FROM change_counter WHERE name = 'offchain'"
    reader = for_engine(engine)
    if reader is not None:
        try:
            row = reader.one(sql)
            return f"offchain:{row[0] if row else None}"
        except ReaderBusy:
            pass
    with engine.connect() as conn:
        return f"offchain:{conn.execute(text(sql)).scalar()}"
