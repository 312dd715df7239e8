"""The tier job: evaluate a brand's members with passes against its tier rule and move their
passes up or down on chain through the outbox (`enqueue_call`).

Each member's change is one SQL transaction: the `setTier` intent (idempotency key
`tier:<brand>:<member>:<evaluation>:<tier>`), the member's tier state and the change record. So a
run killed half-way leaves every member either changed or not, and a re-run (same evaluation
or a later one) finds the changed members at their new tier and changes nothing twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import InvalidInput, LedgerError
from loyalty_ledger.ledger.outbox import enqueue_call
from loyalty_ledger.programme import rules_cache
from loyalty_ledger.store.offchain import table
from loyalty_ledger.store.rules_tables import TierChange, TierState
from loyalty_ledger.validate import checksum_address

from .live import T_EARN, T_PASS
from .tiers import DAY, TierPolicy, decide, get_tier_rule

T_STATE, T_CHANGE = table(TierState), table(TierChange)
log = logging.getLogger(__name__)


def _values(
    conn: Connection, brand_id: str, policy: TierPolicy, now: int, members: Sequence[str]
) -> dict[str, int]:
    """Each member's points earned (or amount spent) in the rolling window before `now`."""
    e = T_EARN.c
    col = e.points if policy.metric == "points" else func.coalesce(e.order_amount, 0)
    q = (
        select(e.member, func.sum(col))
        .where(e.brand_id == brand_id, e.ordered_at >= now - policy.window_days * DAY)
        .where(e.ordered_at < now)
        .group_by(e.member)
    )
    if policy.metric == "amount":
        q = q.where(e.reason == "purchase")
    if len(members) < 500:
        q = q.where(e.member.in_(list(members)))
    return {m: int(v or 0) for m, v in conn.execute(q)}


def evaluate_tiers(
    *,
    engine: Engine,
    sender: Sender,
    program: Program,
    now: int | None = None,
    evaluation: str | None = None,
    members: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Evaluate the brand's pass holders (or only `members`) and queue the tier changes.

    `evaluation` names the run in the idempotency keys (default: the UTC day of `now`)."""
    brand_id = program.brand_id
    policy = get_tier_rule(engine=engine, brand_id=brand_id)
    if policy is None:
        raise InvalidInput(f"brand {brand_id} has no tier rule; set one first")
    now = int(time.time()) if now is None else now
    evaluation = evaluation or datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
    pass_c = contracts.passes(sender.w3, program)
    with engine.connect() as conn:
        q = select(T_PASS.c.owner, T_PASS.c.tier).where(T_PASS.c.contract == program.pass_.lower())
        if members is not None:
            q = q.where(T_PASS.c.owner.in_([m.lower() for m in members]))
        holders = {checksum_address(o): int(t) for o, t in conn.execute(q)}
        q2 = select(T_STATE).where(T_STATE.c.brand_id == brand_id)
        states = {
            r["member"]: dict(r) for r in conn.execute(q2).mappings() if r["member"] in holders
        }
        values = _values(conn, brand_id, policy, now, list(holders))
    report = dict.fromkeys(("evaluated", "up", "down", "stayed", "in_grace"), 0)
    intents: list[int] = []
    for member in sorted(holders):
        st = states.get(member)
        current = st["tier"] if st else holders[member]
        below = st["below_since"] if st else None
        tier, below_now = decide(policy, current, values.get(member, 0), below, now)
        report["evaluated"] += 1
        with engine.begin() as conn:
            key = {"brand_id": brand_id, "member": member}
            row = {"tier": tier, "below_since": below_now, "evaluated_at": now}
            if st is None:
                conn.execute(insert(T_STATE).values(**key, **row, since=now))
            else:
                where = (T_STATE.c.brand_id == brand_id) & (T_STATE.c.member == member)
                conn.execute(update(T_STATE).where(where).values(**row))
            if tier == current:
                report["stayed"] += 1
                report["in_grace"] += int(below_now is not None)
                continue
            idem = f"tier:{brand_id}:{member}:{evaluation}:{tier}"
            call = pass_c.functions.setTier(member, tier)
            intent = enqueue_call(conn, sender=sender, call=call, idem_key=idem)
            conn.execute(
                insert(T_CHANGE).values(
                    **key,
                    from_tier=current,
                    to_tier=tier,
                    at=now,
                    idem_key=idem,
                    operation_id=intent,
                )
            )
        report["up" if tier > current else "down"] += 1
        intents.append(intent)
    return {"evaluation": evaluation, **report, "intents": intents}


def tier_migration(*, engine: Engine, brand_id: str, start: int, end: int) -> dict[str, int]:
    """Of the members the job knew by `end`: how many moved up, down (first tier in the period
    against the last), or stayed, in [start, end)."""
    c = T_CHANGE.c
    with engine.connect() as conn:
        changes = conn.execute(
            select(c.member, c.from_tier, c.to_tier)
            .where(c.brand_id == brand_id, c.at >= start, c.at < end)
            .order_by(c.id)
        ).all()
        known = conn.execute(
            select(func.count()).where(T_STATE.c.brand_id == brand_id, T_STATE.c.since < end)
        ).scalar()
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for m, f, t in changes:
        first.setdefault(m, f)
        last[m] = t
    up = sum(1 for m in last if last[m] > first[m])
    down = sum(1 for m in last if last[m] < first[m])
    return {"up": up, "down": down, "stayed": int(known or 0) - up - down}


KNOWN_TTL = 5.0  # seconds a brand's "has a tier rule" is trusted without reading the version


def has_tier_rule(engine: Engine, brand_id: str, fresh: bool = False) -> bool:
    """Whether the brand has a tier rule, from the rules this process holds (`rules_cache`):
    as of a read of the rules version at most KNOWN_TTL seconds old (every earning asks; an
    earning that found the rules changed has just read them), or now when `fresh`."""
    max_age = 0.0 if fresh else KNOWN_TTL
    return rules_cache.recent(engine, brand_id, max_age).tiers


def on_activity(*, engine: Engine, sender: Sender, program: Program, member: str) -> None:
    """Evaluate one member after new activity (an earning), when the brand has a tier rule;
    a failure is logged, not raised: the daily run catches up."""
    if not has_tier_rule(engine, program.brand_id):
        return
    try:
        evaluate_tiers(engine=engine, sender=sender, program=program, members=[member])
    except (LedgerError, SQLAlchemyError) as exc:
        log.warning("tier evaluation of %s in %s failed: %s", member, program.brand_id, exc)
