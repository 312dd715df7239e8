"""One writer at a time on SQLite, woken the moment the database is free.

SQLite's own busy handler sleeps up to 100 ms between tries; under many concurrent claims that
sleep dominates. Claims queue on a thread lock, then a lock file shared by every process on the
database. Other databases need no such lock (a no-op context).

In WAL mode SQLite refuses at once ("database is locked", no busy wait) a reader's upgrade to
writer when another writer committed since its read began. So a transaction begun to write is
the writer from its first statement: `engine.begin()` on a SQLite engine begins IMMEDIATE
(`begin_immediately`), waiting in SQLite's busy handler for the writer before it (bounded by the
busy timeout), as does the first transaction a thread begins while holding this lock
(`begin_sql`). Reads (`engine.connect()`) begin deferred and never wait for writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

_SQLITE_CLAIMS = threading.Lock()
_HELD = threading.local()  # `immediate`: the next BEGIN of this thread is the writer's


def begin_sql() -> str:
    """How SQLite transactions begin: IMMEDIATE for the first one a thread begins while it
    holds the writer lock (the engine's begin hook asks), else deferred."""
    if getattr(_HELD, "immediate", False):
        _HELD.immediate = False
        return "BEGIN IMMEDIATE"
    return "BEGIN"


def begin_immediately(engine: Engine) -> None:
    """Make `engine.begin()` begin IMMEDIATE: a transaction begun to write reads and writes as
    the writer, so another writer's commit between its read and its write cannot refuse it."""

    @contextlib.contextmanager
    def begin() -> Iterator[Connection]:
        with engine.connect() as conn:
            _HELD.immediate = True
            try:
                with conn.begin():
                    yield conn
            finally:
                _HELD.immediate = False

    engine.begin = begin  # type: ignore[method-assign]


def sqlite_writer(engine: Engine) -> contextlib.AbstractContextManager[Any]:
    """SQLite has one writer: claims queue on a lock (a thread lock, then a lock file shared
    by every process on the database), woken the moment it is free, rather than in SQLite's
    busy handler, which sleeps up to 100 ms between tries."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    db = engine.url.database or ":memory:"
    with _SQLITE_CLAIMS:
        lock = _FILE_LOCKS.get(db)
        if lock is None:
            lock = _FILE_LOCKS[db] = _ClaimLock(None if db == ":memory:" else db + ".claims.lock")
    return lock


WAIT_SECONDS = 30.0
"""How long a writer waits for the lock (SQLite's own busy timeout): past it the database is
taken as unavailable (OperationalError, answered 503), never sooner."""


def busy(what: str) -> OperationalError:
    why = sqlite3.OperationalError(f"database is locked: {what} not free in {WAIT_SECONDS:.0f} s")
    return OperationalError("sqlite writer lock", None, why)


class _ClaimLock:
    """A thread lock, then an flock on `path` (none for an in-memory database); each waited
    for at most WAIT_SECONDS."""

    def __init__(self, path: str | None) -> None:
        self.lock = threading.Lock()
        self.fd = None if path is None else os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def __enter__(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        if not self.lock.acquire(timeout=WAIT_SECONDS):
            raise busy("the writer lock")
        try:
            if self.fd is not None:
                self._flock(deadline)
        except BaseException:
            self.lock.release()
            raise
        _HELD.immediate = True

    def _flock(self, deadline: float) -> None:
        """The lock file, polled (a blocking flock cannot time out): first at once, then
        after pauses growing from 0.1 to 2 ms (another process's writer holds it briefly)."""
        assert self.fd is not None
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy("the lock file") from None
                time.sleep(pause)
                pause = min(0.002, pause * 2)

    def __exit__(self, *exc: object) -> None:
        _HELD.immediate = False
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.lock.release()


_FILE_LOCKS: dict[str, _ClaimLock] = {}
