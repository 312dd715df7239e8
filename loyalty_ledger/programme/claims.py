"""The accept path's SQL for earning: one short transaction per claim (the earn record and,
queued, its outbox intent), constant statements compiled once, and a small time-bounded cache
for what every request reads (the brand's earn rule)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.ledger import outbox
from loyalty_ledger.store.offchain import EarnRecord, table

T_EARN = table(EarnRecord)
_INSERT_EARN = insert(T_EARN).returning(*T_EARN.c)
_SQLITE_CLAIMS = threading.Lock()


class TtlCache:
    """Values kept for `ttl` seconds per key (per process)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._kept: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        hit = self._kept.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = load()
        self._kept[key] = (now, value)
        return value

    def forget(self, key: Hashable) -> None:
        self._kept.pop(key, None)


def claim_row(
    engine: Engine, values: dict[str, Any], queue: outbox.Issuer | None = None
) -> dict[str, Any] | None:
    """Claim the key and return the new record (None: claimed before); with `queue`, the issue
    is queued in the outbox in the same short transaction."""
    now = int(time.time())
    if values.get("ordered_at") is None:  # actions, and purchases sent without a POS time
        values = {**values, "ordered_at": now}
    row: dict[str, Any] = {c.name: None for c in T_EARN.c if c.name != "id"}
    row |= {**values, "status": "pending", "created_at": now}
    try:
        with _writer(engine), engine.begin() as conn:
            if queue is not None and values["points"] > 0:
                row["intent_id"] = queue.enqueue(conn, values)
            return dict(conn.execute(_INSERT_EARN, row).mappings().one())
    except IntegrityError:
        return None


def _writer(engine: Engine) -> contextlib.AbstractContextManager[Any]:
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
