"""Earn claims in SQL: claim an idempotency key (evaluating the brand's rules in the same
transaction, with the outbox intent when queued), confirm it once mined, release it (and what
its rules reserved) when its transaction fails, and read a claimed record back."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.ledger import outbox
from loyalty_ledger.store.offchain import EarnRecord, table
from loyalty_ledger.store.rules_tables import release_lines
from loyalty_ledger.store.writer_lock import sqlite_writer

from .accept import lock_members, price_claim
from .rules.evaluate import Outcome
from .rules.live import Plan, write_lines
from .rules.model import Rule
from .rules.perk_grant import grant_perks

T_EARN = table(EarnRecord)
Claimed = list[tuple[int, dict[str, Any]]]
"""The records a claim wrote: the member's first, then the referrer's reward if any."""


def record(engine: Engine, brand_id: str, key: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(T_EARN).where(T_EARN.c.brand_id == brand_id, T_EARN.c.idem_key == key)
            )
            .mappings()
            .one()
        )
    return dict(row)


def _referrer_record(
    conn: Connection,
    values: dict[str, Any],
    out: Outcome,
    now: int,
    queue: outbox.Issuer | None,
) -> tuple[int, dict[str, Any]]:
    """The referrer's reward for a referral that converted: its own record and lines."""
    lines = [x for x in out.lines if x.beneficiary == "referrer"]
    ref = {
        "brand_id": values["brand_id"],
        "idem_key": f"referral:{values['idem_key']}"[:160],
        "member": out.referrer,
        "reason": "referral",
        "points": sum(x.points for x in lines),
        "order_id": None,
        "order_amount": None,
        "currency": None,
        "items_count": None,
        "action_id": values["member"],
        "ordered_at": values["ordered_at"],
    }
    ref["intent_id"] = queue.enqueue(conn, ref) if queue is not None else None
    res = conn.execute(INSERT_EARN, {"status": "pending", "created_at": now, **ref})
    rid = int(res.inserted_primary_key[0])  # type: ignore[index]
    write_lines(conn, values["brand_id"], rid, lines, values["member"])
    grant_perks(conn, values["brand_id"], rid, str(out.referrer), lines, "referrer")
    return rid, ref


INSERT_EARN = insert(T_EARN)


def claim(
    engine: Engine,
    values: dict[str, Any],
    queue: outbox.Issuer | None = None,
    plan: Plan | None = None,
    rules: Sequence[Rule] | None = None,
    version: int | None = None,
) -> Claimed | None:
    """Claim the key (None: claimed before). With `plan`, the brand's rules decide the points
    in the same transaction (`rules`: its active rules when known, e.g. from `rules_cache`, as
    of rules `version`: `accept.StaleRules` when they changed since); with `queue`, each paying
    record's issue is queued there too."""
    now = int(time.time())
    if values.get("ordered_at") is None:  # actions, and purchases sent without a POS time
        values = {**values, "ordered_at": now}
    try:
        with sqlite_writer(engine), engine.begin() as conn:
            return claim_in(conn, values, queue, plan, rules, now, version)
    except IntegrityError:
        return None


def claim_in(
    conn: Connection,
    values: dict[str, Any],
    queue: outbox.Issuer | None,
    plan: Plan | None,
    rules: Sequence[Rule] | None,
    now: int,
    version: int | None = None,
) -> Claimed:
    """The claim's statements in the caller's transaction: the rules priced first (facts in
    one statement), then each paying record's intent, then the record itself with its points
    and intent (a key claimed before: IntegrityError, for the caller to roll back)."""
    outcome = None
    if plan is not None:
        lock_members(conn, [values])
        outcome = price_claim(conn, plan, values, rules, version)
        values = {**values, "points": outcome.points()}
    intent = queue.enqueue(conn, values) if queue is not None and values["points"] > 0 else None
    values = {**values, "intent_id": intent, "created_at": now}
    res = conn.execute(INSERT_EARN, {"status": "pending", **values})
    rid = int(res.inserted_primary_key[0])  # type: ignore[index]
    out: Claimed = [(rid, values)]
    if outcome is not None:
        mine = [x for x in outcome.lines if x.beneficiary == "member"]
        write_lines(conn, values["brand_id"], rid, mine, values["member"])
        grant_perks(conn, values["brand_id"], rid, values["member"], outcome.lines)
        if outcome.referrer and outcome.points("referrer") > 0:
            out.append(_referrer_record(conn, values, outcome, now, queue))
    return out


def release_claims(engine: Engine, ids: Sequence[int]) -> None:
    with engine.begin() as conn:
        release_lines(conn, list(ids))
        conn.execute(delete(T_EARN).where(T_EARN.c.id.in_(list(ids))))


def confirm(engine: Engine, ids: Sequence[int], tx_hash: str | None, block: int | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(T_EARN)
            .where(T_EARN.c.id.in_(list(ids)))
            .values(status="confirmed", tx_hash=tx_hash, block_number=block)
        )
