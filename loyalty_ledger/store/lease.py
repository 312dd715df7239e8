"""A named lease that one process holds at a time and that passes when its holder dies:
a PostgreSQL session advisory lock, or an flock on a file beside a SQLite database."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from .engine import normalise_url


class Lease:
    """`try_acquire()` without blocking; the kernel or the server frees it if we die."""

    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = normalise_url(url), name
        self._fd: int | None = None
        self._engine: Any = None
        self._conn: Any = None

    @property
    def held(self) -> bool:
        return self._fd is not None or self._conn is not None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        u = make_url(self.url)
        if u.get_backend_name() == "sqlite":
            return self._flock(u.database or ":memory:")
        engine = create_engine(self.url, poolclass=NullPool)
        conn = engine.connect()
        schema = conn.execute(text("select current_database() || '.' || current_schema()")).scalar()
        digest = hashlib.sha256(f"loyalty-lease:{schema}:{self.name}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        got = bool(conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        if not got:
            conn.close()
            engine.dispose()
            return False
        self._engine, self._conn = engine, conn
        return True

    def _flock(self, db: str) -> bool:
        if db == ":memory:":
            return True
        safe = "".join(c if c.isalnum() else "-" for c in self.name)
        fd = os.open(Path(db + f".{safe}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def alive(self) -> bool:
        """Whether a held PostgreSQL lease's session still answers (a lock file cannot fail)."""
        if self._conn is None:
            return self._fd is not None
        try:
            self._conn.execute(text("select 1"))
            self._conn.commit()
            return True
        except Exception:
            self.release()
            return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            with contextlib.suppress(Exception):  # the server may be gone already
                self._conn.close()
            self._conn = None
            self._engine.dispose()
            self._engine = None
