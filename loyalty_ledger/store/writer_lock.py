"""One writer at a time on SQLite, woken the moment the database is free.

SQLite's own busy handler sleeps up to 100 ms between tries; under many concurrent claims that
sleep dominates. Claims queue on a thread lock, then a lock file shared by every process on the
database. Other databases need no such lock (a no-op context).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from typing import Any

from sqlalchemy import Engine

_SQLITE_CLAIMS = threading.Lock()


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


class _ClaimLock:
    """A thread lock, then an flock on `path` (none for an in-memory database)."""

    def __init__(self, path: str | None) -> None:
        self.lock = threading.Lock()
        self.fd = None if path is None else os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def __enter__(self) -> None:
        self.lock.acquire()
        if self.fd is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            except BaseException:
                self.lock.release()
                raise

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.lock.release()


_FILE_LOCKS: dict[str, _ClaimLock] = {}
