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

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from loyalty_ledger.ledger import outbox
from loyalty_ledger.store.engine import engine_key
from loyalty_ledger.store.outbox import enqueue_many, issue_params
from loyalty_ledger.store.writer_lock import WAIT_SECONDS, busy, sqlite_writer

from .accept import ask, member_keys, price_facts
from .claim_sql import group_facts, insert_lines, insert_records, write_pg
from .claims import Claimed, claim
from .rules.evaluate import Outcome
from .rules.live import Plan, line_rows
from .rules.model import Rule
from .rules.perk_grant import grant_perks

MAX_GROUP = 64  # claims per transaction
LEADERS = 2  # groups written at once per process (PostgreSQL)
log = logging.getLogger(__name__)


@dataclass
class _Job:
    values: dict[str, Any]
    queue: outbox.Issuer | None
    plan: Plan | None
    rules: Sequence[Rule] | None
    version: int | None
    taken: bool = False  # by a leader, into its group
    done: threading.Event = field(default_factory=threading.Event)
    result: Claimed | None = None
    error: BaseException | None = None


@dataclass
class _Group:
    """The claims waiting in one process for one database, and who commits them: at most
    `leaders` groups at a time, one on SQLite (it has one writer), two on PostgreSQL (while one
    waits on the server, the next is written)."""

    leaders: int
    active: int = 0  # leaders committing now
    pending: list[_Job] = field(default_factory=list)
    guard: threading.Condition = field(default_factory=threading.Condition)  # over all fields


_GROUPS: dict[str, _Group] = {}
_GROUPS_LOCK = threading.Lock()


def _group(engine: Engine) -> _Group:
    key = engine_key(engine)
    g = _GROUPS.get(key)
    if g is None:
        with _GROUPS_LOCK:
            n = 1 if engine.dialect.name == "sqlite" else LEADERS
            g = _GROUPS.setdefault(key, _Group(n))
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
    if _lead(g, job):
        try:
            while True:  # until a group holds this claim: commit what waits, in order
                with g.guard:
                    if job.taken:
                        break
                    batch, g.pending[:] = g.pending[:MAX_GROUP], g.pending[MAX_GROUP:]
                    for j in batch:
                        j.taken = True
                    g.guard.notify_all()  # their claimers wait for the result now
                _commit(engine, batch)
        finally:
            with g.guard:
                g.active -= 1
                g.guard.notify_all()
    if not job.done.wait(timeout=WAIT_SECONDS):  # in another leader's group
        raise busy("the claim group")
    if job.error is not None:
        raise job.error
    return job.result


def _lead(g: _Group, job: _Job) -> bool:
    """Queue the claim; True when this thread is to commit groups (a leader's place was
    free), False once another leader took the claim into its group. A claim left waiting
    WAIT_SECONDS is withdrawn (busy: the database is taken as unavailable)."""
    deadline = time.monotonic() + WAIT_SECONDS
    with g.guard:
        g.pending.append(job)
        while not job.taken:
            if g.active < g.leaders:
                g.active += 1
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                g.pending.remove(job)
                raise busy("the claim group")
            g.guard.wait(timeout=left)
    return False


def claim_many(
    engine: Engine,
    values: list[dict[str, Any]],
    queue: outbox.Issuer | None = None,
    plan: Plan | None = None,
    rules: Sequence[Rule] | None = None,
    version: int | None = None,
) -> list[tuple[Claimed | None, BaseException | None]]:
    """Many claims of one request (a batch of orders), committed MAX_GROUP at a time in order,
    as concurrent claims are (a failing group's claims each alone): each one's result (None:
    claimed before) or error."""
    jobs = [_Job(v, queue, plan, rules, version) for v in values]
    for start in range(0, len(jobs), MAX_GROUP):
        _commit(engine, jobs[start : start + MAX_GROUP])
    return [(j.result, j.error) for j in jobs]


class _Alone(Exception):
    """A claim of the group writes more than one record (a referrer's reward): each alone."""


def _commit(engine: Engine, batch: list[_Job]) -> None:
    """The batch in one transaction (a single claim too: the same statements, on the driver);
    if that fails, each claim alone."""
    now = int(time.time())
    if batch:
        try:
            with sqlite_writer(engine), engine.begin() as conn:
                results = _together(conn, batch, now)
        except Exception as exc:  # each claim again on its own, with its own outcome
            log.debug("a group of %d claims failed (%s): each alone", len(batch), exc)
        else:
            for j, r in zip(batch, results, strict=True):
                j.result = r
                j.done.set()
            return
    for j in batch:
        try:
            j.result = claim(engine, j.values, j.queue, j.plan, j.rules, j.version)
        except BaseException as exc:  # raised in the thread that asked for this claim
            j.error = exc
        j.done.set()


def _together(conn: Connection, batch: list[_Job], now: int) -> list[Claimed]:
    """What `claims.claim_in` writes for each claim, with the members' facts, the intents, the
    records and the rule lines of the whole group in one statement each (`claim_sql`; after
    every claim was priced, so the rows the records' triggers update are held the shortest
    time). On PostgreSQL the writes and the COMMIT are one round trip."""
    records, outcomes = _priced(conn, batch, now)
    intents = _intents(batch, records)
    mine = [[x for x in o.lines if x.beneficiary == "member"] if o else [] for o in outcomes]
    perks = any(x.perk_id is not None for o in outcomes if o is not None for x in o.lines)
    if conn.dialect.name == "postgresql":
        rows = [intents[i] for i in sorted(intents)]
        keyed = [(v, intents[i]["idem_key"] if i in intents else None)
                 for i, v in enumerate(records)]  # fmt: skip
        lines = [(v, row) for v, m in zip(records, mine, strict=True)
                 for row in line_rows(v["brand_id"], 0, m, v["member"])]  # fmt: skip
        got = write_pg(conn, issue_params(rows, True), keyed, lines, commit=not perks)
        ids = [rid for rid, _ in got]
        for v, (_, intent) in zip(records, got, strict=True):
            v["intent_id"] = intent
    else:
        order = sorted(intents)
        for i, intent in zip(order, enqueue_many(conn, [intents[i] for i in order]), strict=True):
            records[i]["intent_id"] = intent
        ids = insert_records(conn, [v | {"status": "pending"} for v in records])
        insert_lines(conn, [row for rid, v, m in zip(ids, records, mine, strict=True)
                            for row in line_rows(v["brand_id"], rid, m, v["member"])])  # fmt: skip
    for rid, v, out in zip(ids, records, outcomes, strict=True):
        if out is not None and perks:  # perk lines
            grant_perks(conn, v["brand_id"], rid, v["member"], out.lines)
    return [[(rid, v)] for rid, v in zip(ids, records, strict=True)]


def _priced(
    conn: Connection, batch: list[_Job], now: int
) -> tuple[list[dict[str, Any]], list[Outcome | None]]:
    """Each claim's record values priced by its rules (the members' facts in one statement),
    in the group's order: a member's purchases earlier in the group count as its orders."""
    values = [j.values if j.values.get("ordered_at") is not None
              else {**j.values, "ordered_at": now} for j in batch]  # fmt: skip
    ruled = [(i, j.plan) for i, j in enumerate(batch) if j.plan is not None]
    keys = member_keys([values[i] for i, _ in ruled]) if conn.dialect.name == "postgresql" else []
    asks = [ask(plan, values[i]) for i, plan in ruled]
    got = group_facts(conn, asks, lock=keys) if asks else []  # the members locked first
    facts = dict(zip([i for i, _ in ruled], got, strict=True))
    records: list[dict[str, Any]] = []
    outcomes: list[Outcome | None] = []
    orders: dict[tuple[str, str], int] = {}  # purchases priced earlier in the group, per member
    for i, (j, v) in enumerate(zip(batch, values, strict=True)):
        outcome = None
        if j.plan is not None:
            who = (v["brand_id"], v["member"])
            prior = orders.get(who, 0)
            if v["reason"] == "purchase":
                orders[who] = prior + 1
            outcome = price_facts(conn, j.plan, v, facts[i], j.rules, j.version, prior)
            if outcome.referrer and outcome.points("referrer") > 0:
                raise _Alone
            v = {**v, "points": outcome.points()}
        records.append({**v, "intent_id": None, "created_at": now})
        outcomes.append(outcome)
    return records, outcomes


def _intents(batch: list[_Job], values: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The paying claims' `issue` intents, checked by their issuers, by claim index."""
    by_issuer: dict[tuple[str, str], list[int]] = {}
    for i, (j, v) in enumerate(zip(batch, values, strict=True)):
        if j.queue is not None and v["points"] > 0:
            key = (j.queue.sender.address, j.queue.program.brand_id)
            by_issuer.setdefault(key, []).append(i)
    out: dict[int, dict[str, Any]] = {}
    for idx in by_issuer.values():
        queue = batch[idx[0]].queue
        assert queue is not None
        out.update(zip(idx, queue.intent_rows([values[i] for i in idx]), strict=True))
    return out
