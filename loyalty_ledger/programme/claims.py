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

from .rules.evaluate import Outcome
from .rules.live import Plan, write_lines
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
    conn: Connection, values: dict[str, Any], out: Outcome, now: int
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
    res = conn.execute(insert(T_EARN).values(status="pending", created_at=now, **ref))
    rid = int(res.inserted_primary_key[0])  # type: ignore[index]
    write_lines(conn, values["brand_id"], rid, lines, values["member"])
    grant_perks(conn, values["brand_id"], rid, str(out.referrer), lines, "referrer")
    return rid, ref


def claim(
    engine: Engine,
    values: dict[str, Any],
    queue: outbox.Issuer | None = None,
    plan: Plan | None = None,
) -> Claimed | None:
    """Claim the key (None: claimed before). With `plan`, the brand's rules decide the points
    in the same transaction; with `queue`, each paying record's issue is queued there too."""
    now = int(time.time())
    if values.get("ordered_at") is None:  # actions, and purchases sent without a POS time
        values = {**values, "ordered_at": now}
    try:
        with sqlite_writer(engine), engine.begin() as conn:
            res = conn.execute(insert(T_EARN).values(status="pending", created_at=now, **values))
            rid = int(res.inserted_primary_key[0])  # type: ignore[index]
            out: Claimed = [(rid, values)]
            if plan is not None:
                outcome = plan.apply(conn, rid, values)
                grant_perks(conn, values["brand_id"], rid, values["member"], outcome.lines)
                out = [(rid, {**values, "points": outcome.points()})]
                if outcome.referrer and outcome.points("referrer") > 0:
                    out.append(_referrer_record(conn, values, outcome, now))
            for i, (id_, v) in enumerate(out):
                intent = queue.enqueue(conn, v) if queue is not None and v["points"] > 0 else None
                conn.execute(
                    update(T_EARN)
                    .where(T_EARN.c.id == id_)
                    .values(points=v["points"], intent_id=intent)
                )
                out[i] = (id_, {**v, "intent_id": intent})
            return out
    except IntegrityError:
        return None


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
