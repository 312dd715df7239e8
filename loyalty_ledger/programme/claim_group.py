"""Group commit of earn claims: the claims that arrive in one process while a transaction is
being committed are written together in the next one.

Each claim keeps its own statements (rules priced, limits and budgets reserved by the SQL
gate, intent, record, lines), so what it earns is what it would earn alone; the group shares
one BEGIN/COMMIT (one fsync, one turn of SQLite's writer lock, one hold of the rows every
claim's triggers update). No thread of its own: the first waiting request commits for all
(its "leader"), the others wait for their result. A claim answers only once its group has
committed. If anything in a group fails (a key claimed before, rules changed meanwhile, a
database error), the group is rolled back and each of its claims runs again alone, so one
claim's failure is only its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from loyalty_ledger.ledger import outbox
from loyalty_ledger.store.engine import engine_key
from loyalty_ledger.store.writer_lock import WAIT_SECONDS, busy, sqlite_writer

from .claims import Claimed, claim, claim_in
from .rules.live import Plan
from .rules.model import Rule

MAX_GROUP = 64  # claims per transaction


@dataclass
class _Job:
    values: dict[str, Any]
    queue: outbox.Issuer | None
    plan: Plan | None
    rules: Sequence[Rule] | None
    version: int | None
    done: bool = False
    result: Claimed | None = None
    error: BaseException | None = None


@dataclass
class _Group:
    """The claims waiting in one process for one database, and who commits them."""

    pending: list[_Job] = field(default_factory=list)
    guard: threading.Lock = field(default_factory=threading.Lock)  # over `pending`
    leader: threading.Lock = field(default_factory=threading.Lock)  # one commit at a time


_GROUPS: dict[str, _Group] = {}
_GROUPS_LOCK = threading.Lock()


def _group(engine: Engine) -> _Group:
    key = engine_key(engine)
    g = _GROUPS.get(key)
    if g is None:
        with _GROUPS_LOCK:
            g = _GROUPS.setdefault(key, _Group())
    return g


def claim_grouped(
    engine: Engine,
    values: dict[str, Any],
    queue: outbox.Issuer | None = None,
    plan: Plan | None = None,
    rules: Sequence[Rule] | None = None,
    version: int | None = None,
) -> Claimed | None:
    """`claims.claim`, committed together with the other claims waiting in this process."""
    job = _Job(values, queue, plan, rules, version)
    g = _group(engine)
    with g.guard:
        g.pending.append(job)
    if not g.leader.acquire(timeout=WAIT_SECONDS):
        raise busy("the claim group")
    try:
        while not job.done:  # not committed by an earlier leader: commit what waits, in order
            with g.guard:
                batch, g.pending[:] = g.pending[:MAX_GROUP], g.pending[MAX_GROUP:]
            _commit(engine, batch)
    finally:
        g.leader.release()
    if job.error is not None:
        raise job.error
    return job.result


def _commit(engine: Engine, batch: list[_Job]) -> None:
    """The batch in one transaction; if that fails, each claim alone."""
    now = int(time.time())
    if len(batch) > 1:
        try:
            results = []
            with sqlite_writer(engine), engine.begin() as conn:
                for j in batch:
                    v = j.values
                    if v.get("ordered_at") is None:  # as `claims.claim` does
                        v = {**v, "ordered_at": now}
                    results.append(claim_in(conn, v, j.queue, j.plan, j.rules, now, j.version))
        except Exception:  # each claim again on its own, with its own outcome
            pass
        else:
            for j, r in zip(batch, results, strict=True):
                j.result, j.done = r, True
            return
    for j in batch:
        try:
            j.result = claim(engine, j.values, j.queue, j.plan, j.rules, j.version)
        except BaseException as exc:  # raised in the thread that asked for this claim
            j.error = exc
        j.done = True
