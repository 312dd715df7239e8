"""A batch of orders through the outbox, all or nothing: every new order's earn claim and issue
intent are written in one SQL transaction, after the orders already claimed were checked to be
the same requests again (any order id reused with other details refuses the whole batch)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.errors import IdempotencyConflict
from loyalty_ledger.ledger.outbox import Issuer
from loyalty_ledger.programme.idempotency import check_same
from loyalty_ledger.store.offchain import EarnRecord, table

T_EARN = table(EarnRecord)
TRIES = 3  # a concurrent request claiming one of the orders meanwhile: look again


def _records(engine: Engine, brand_id: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    q = select(T_EARN).where(T_EARN.c.brand_id == brand_id, T_EARN.c.idem_key.in_(list(keys)))
    with engine.connect() as conn:
        return {r["idem_key"]: dict(r) for r in conn.execute(q).mappings()}


def claim_batch(
    engine: Engine, issuer: Issuer, brand_id: str, rows: Sequence[dict[str, Any]]
) -> list[tuple[dict[str, Any], bool]]:
    """Each order's record and whether it was claimed before (a replay), in order."""
    keys = [r["idem_key"] for r in rows]
    for _ in range(TRIES):
        known = _records(engine, brand_id, keys)
        for r in rows:
            if r["idem_key"] in known:
                what = f"order id {r['order_id']!r}"
                check_same(known[r["idem_key"]].get("request_hash"), r["request_hash"], what)
        now = int(time.time())
        try:
            with engine.begin() as conn:
                for r in rows:
                    if r["idem_key"] in known:
                        continue
                    values = {"brand_id": brand_id, "ordered_at": now, **r}
                    if values["ordered_at"] is None:
                        values["ordered_at"] = now
                    status = "pending"
                    if r["points"] > 0:
                        values["intent_id"] = issuer.enqueue(conn, values)
                    else:
                        status = "confirmed"  # nothing to issue
                    conn.execute(insert(T_EARN).values(status=status, created_at=now, **values))
        except IntegrityError:
            continue
        got = _records(engine, brand_id, keys)
        return [(got[k], k in known) for k in keys]
    raise IdempotencyConflict("these orders are being claimed by another request; retry")
