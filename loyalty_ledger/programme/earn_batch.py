"""A batch of orders through the outbox: the orders already claimed are checked to be the same
requests again before any new one is claimed (an order id reused with other details refuses the
whole batch); each new order is then claimed and priced by the rules like a single earning, so a
batch re-sent after a crash claims only what is missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.ledger import outbox
from loyalty_ledger.programme import rules_cache
from loyalty_ledger.programme.accept import as_record
from loyalty_ledger.programme.claim_group import claim_many
from loyalty_ledger.programme.claims import Claimed, confirm, record
from loyalty_ledger.programme.idempotency import check_same
from loyalty_ledger.programme.rules.live import Plan
from loyalty_ledger.store.offchain import EarnRecord, table

T_EARN = table(EarnRecord)


@dataclass
class Earned:
    record: dict[str, Any]
    duplicate: bool  # the key was claimed before: nothing was earned by this request


def queued_answer(
    engine: Engine, brand_id: str, values: dict[str, Any], claimed: Claimed
) -> Earned:
    """A new queued claim's answer (those that pay nothing are confirmed at once)."""
    if any(v["points"] == 0 for _, v in claimed):
        confirm(engine, [rid for rid, v in claimed if v["points"] == 0], None, None)
        return Earned(record(engine, brand_id, values["idem_key"]), duplicate=False)
    rid, v = claimed[0]  # paying: the record as written, without reading it back
    return Earned(as_record(rid, v, v["created_at"]), duplicate=False)


def _records(engine: Engine, brand_id: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    q = select(T_EARN).where(T_EARN.c.brand_id == brand_id, T_EARN.c.idem_key.in_(list(keys)))
    with engine.connect() as conn:
        return {r["idem_key"]: dict(r) for r in conn.execute(q).mappings()}


def refuse_conflicts(engine: Engine, brand_id: str, rows: Sequence[dict[str, Any]]) -> None:
    """IdempotencyConflict, before anything is claimed, when an order of the batch was claimed
    before with other details (the same orders again are replays: answered as before)."""
    known = _records(engine, brand_id, [r["idem_key"] for r in rows])
    for r in rows:
        if r["idem_key"] in known:
            what = f"order id {r['order_id']!r}"
            check_same(known[r["idem_key"]].get("request_hash"), r["request_hash"], what)


def claim_queued(
    engine: Engine, queue: outbox.Issuer, program: Program, rows: Sequence[dict[str, Any]]
) -> tuple[Plan, list[tuple[Claimed | None, BaseException | None]]]:
    """The batch's orders claimed through the outbox 64 at a time (`claim_group.claim_many`),
    priced by the brand's rules as this process holds them (`rules_cache`, checked current in
    each group's transaction): the plan, and each order's claim (None: claimed before) or
    error (StaleRules: the rules changed meanwhile)."""
    bid = program.brand_id
    snap = rules_cache.snapshot(engine, bid)
    plan = Plan(bid, program.pass_, snap.rule.amount_per_point)
    values = [{"brand_id": bid, **r} for r in rows]
    return plan, claim_many(engine, values, queue, plan, snap.rules, snap.version)
