"""The accept path's SQL for earning: one short transaction per claim (the earn record and,
queued, its outbox intent), constant statements compiled once, and a small time-bounded cache
for what every request reads (the brand's earn rule)."""

from __future__ import annotations

import contextlib
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
    """SQLite has one writer: this process's claims queue on a lock (woken at once) rather
    than in SQLite's busy handler (which sleeps up to 100 ms between tries)."""
    return _SQLITE_CLAIMS if engine.dialect.name == "sqlite" else contextlib.nullcontext()
