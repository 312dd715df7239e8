"""Engine, schema migrations and the single-writer lock of the SQL mirror."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.pool import NullPool

from .writer_lock import begin_immediately, begin_sql

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def default_database_url(data_dir: Path) -> str:
    """The embedded default: a SQLite file under the data dir."""
    return f"sqlite:///{Path(data_dir) / 'ledger.db'}"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for `url`; SQLite files get WAL mode, NORMAL sync and a busy timeout."""
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            # Let SQLAlchemy say BEGIN itself: pysqlite would otherwise autocommit DDL, and a
            # migration killed half-way would leave half a schema.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin_sql())  # IMMEDIATE for engine.begin() and the writer lock

        begin_immediately(engine)
        return engine
    # Bounded waits on a database that went away: connecting, and a connection gone silent.
    kw["connect_args"] = PG_CONNECT_ARGS | kw.get("connect_args", {})
    return create_engine(url, pool_pre_ping=True, **kw)


_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def engine_key(engine: Engine) -> str:
    """The engine's URL as text, for per-database caches: rendering a URL each time costs
    ~25 us (quoting its options), and the accept path asks several times per request."""
    key = _KEYS.get(engine)
    if key is None:
        key = _KEYS[engine] = str(engine.url)
    return key


PG_CONNECT_ARGS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


def database_unavailable(exc: BaseException) -> str | None:
    """Why `exc` means the database cannot be reached (a short text), or None when it is
    another error (a bug, a constraint): connection refused or dropped, a server shutting
    down, SQLite's file locked past the busy timeout."""
    if not isinstance(exc, OperationalError | InterfaceError) and not (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return None
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    if isinstance(orig, sqlite3.Error) and not any(m in first.lower() for m in _SQLITE_AWAY):
        return None  # SQLite says "no such table" and syntax errors with the same class
    return f"{type(orig).__name__}: {first[:160]}"


_SQLITE_AWAY = ("locked", "busy", "unable to open", "disk i/o", "disk is full", "readonly")


def probe(url: str) -> bool:
    """Whether the database at `url` answers a trivial query now."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception as exc:
        if database_unavailable(exc) is None:
            raise
        return False
    finally:
        engine.dispose()


def alembic_config() -> Any:
    from alembic.config import Config  # imported lazily: alembic is slow to import

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


_MIGRATING = threading.Lock()
_MIGRATION_LOCK_ID = 0x4C4F59414C5459  # "LOYALTY": the PostgreSQL advisory lock for migrations


def migrate(engine: Engine) -> None:
    """Apply every pending Alembic migration (idempotent, safe to call concurrently).

    Alembic's environment is module-global, so threads of one process (the main job runs the
    indexer and the API side by side) take turns, and PostgreSQL processes serialise on an
    advisory lock. Two processes migrating one fresh SQLite file at once can still collide
    (the loser gets "database is locked"; the API retries once).
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config()
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with _MIGRATING:
        with engine.connect() as conn:
            if MigrationContext.configure(conn).get_current_revision() == head:
                return  # up to date: skip alembic's environment
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")  # a no-op when another process got there first


class WriterLock:
    """Exactly one indexer writes a database: a PostgreSQL advisory lock or a lock file."""

    def __init__(self, url: str, *, on_wait: Callable[[str], None] | None = None) -> None:
        self.url = normalise_url(url)
        self.on_wait = on_wait or (lambda msg: log.warning(msg))
        self._fd: int | None = None
        self._engine: Engine | None = None
        self._conn: Any = None

    def acquire(self, *, poll: float = 0.1, stop: Callable[[], bool] = lambda: False) -> bool:
        """Block until this process holds the lock; False when `stop()` turned true first."""
        u = make_url(self.url)
        warned = False
        if u.get_backend_name() == "sqlite":
            db = u.database or ":memory:"
            lock_path = Path(db + ".indexer.lock") if db != ":memory:" else None
            if lock_path is None:
                return True
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if not warned:
                        self.on_wait(f"another indexer writes {db}; waiting for its lock file")
                        warned = True
                    if stop():
                        self.release()
                        return False
                    time.sleep(poll)
        self._engine = create_engine(self.url, poolclass=NullPool)
        self._conn = self._engine.connect()
        schema = self._conn.execute(
            text("select current_database() || '.' || current_schema()")
        ).scalar()
        key = int.from_bytes(
            hashlib.sha256(f"loyalty-indexer:{schema}".encode()).digest()[:8], "big", signed=True
        )
        while True:
            got = self._conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            self._conn.commit()
            if got:
                return True
            if not warned:
                self.on_wait(f"another indexer writes {schema}; waiting for its advisory lock")
                warned = True
            if stop():
                self.release()
                return False
            time.sleep(poll)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        if self._conn is not None:
            try:
                self._conn.close()  # the session ends, and with it the advisory lock
            except Exception as exc:  # the database went away: so did the session and the lock
                log.debug("writer lock: closing a broken connection: %s", exc)
            finally:
                self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
