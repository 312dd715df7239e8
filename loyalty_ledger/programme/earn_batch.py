"""A batch of orders through the outbox: the orders already claimed are checked to be the same
requests again before any new one is claimed (an order id reused with other details refuses the
whole batch); each new order is then claimed and priced by the rules like a single earning, so a
batch re-sent after a crash claims only what is missing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, select

from loyalty_ledger.programme.idempotency import check_same
from loyalty_ledger.store.offchain import EarnRecord, table

T_EARN = table(EarnRecord)


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
