"""Earning points: a brand's earn rule, and idempotent earning for purchases and actions.

Every earning is claimed under a unique key (`order:<id>` or `action:<kind>:<id>`) in SQL
before its transaction is sent, so a retried or duplicated request never earns twice. A claim
whose transaction fails is released. Sent in the request, a claim whose process died after
sending stays `pending`; `queued`, the claim and its outbox intent are one SQL transaction and
the submitter settles it (mined: `confirmed`; failed: released).

A purchase carries the order's own point-of-sale time (`ordered_at`, Unix seconds; default: the
time of the claim), so metrics count when the customer bought, not when the brand recorded it.
It may not be before the programme existed (the time of the block that deployed its points
contract) nor more than 5 minutes ahead of our clock.

Each record keeps a hash of its canonical request: a retry with the same order (or action) id
and the same details replays the first record (`duplicate`); the same id with other details is
an `IdempotencyConflict` (409), as for the IETF Idempotency-Key draft.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_ledger import ledger
from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import InvalidInput, LedgerError
from loyalty_ledger.ledger import outbox
from loyalty_ledger.programme.earn_batch import claim_batch
from loyalty_ledger.programme.idempotency import check_same, request_hash
from loyalty_ledger.programme.order_time import (
    EARLIEST_ORDER,
    MAX_FUTURE_SECONDS,
    order_time,
    programme_start,
)
from loyalty_ledger.store.offchain import EarnRecord, EarnRule, table
from loyalty_ledger.validate import checksum_address

ACTIONS = ("signup", "review", "referral", "survey", "visit")
DEFAULT_BONUSES = {"signup": 100, "review": 20, "referral": 50, "survey": 10, "visit": 5}
DEFAULT_CURRENCY = "VND"
DEFAULT_AMOUNT_PER_POINT = 10_000  # 1 point per 10,000 VND
MAX_BATCH = 500

T_RULE, T_EARN = table(EarnRule), table(EarnRecord)


@dataclass(frozen=True)
class Rule:
    brand_id: str
    currency: str
    amount_per_point: int
    bonuses: dict[str, int]

    def purchase_points(self, amount: int, currency: str) -> int:
        """Whole points for an order: floor(amount / amount_per_point); integers only."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise InvalidInput("the order amount must be a whole number >= 0")
        if currency.upper() != self.currency:
            raise InvalidInput(f"brand {self.brand_id} earns on {self.currency}, not {currency}")
        return amount // self.amount_per_point

    def action_points(self, action: str) -> int:
        if action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")
        return int(self.bonuses.get(action, 0))


def get_rule(*, engine: Engine, brand_id: str) -> Rule:
    with engine.connect() as conn:
        row = conn.execute(select(T_RULE).where(T_RULE.c.brand_id == brand_id)).mappings().first()
    if row is None:
        return Rule(brand_id, DEFAULT_CURRENCY, DEFAULT_AMOUNT_PER_POINT, dict(DEFAULT_BONUSES))
    return Rule(brand_id, row["currency"], int(row["amount_per_point"]), dict(row["bonuses"] or {}))


def set_rule(
    *,
    engine: Engine,
    brand_id: str,
    currency: str,
    amount_per_point: int,
    bonuses: dict[str, int],
) -> Rule:
    if amount_per_point < 1:
        raise InvalidInput("amount_per_point must be at least 1")
    if any(a not in ACTIONS or not isinstance(v, int) or v < 0 for a, v in bonuses.items()):
        raise InvalidInput(f"bonuses are whole numbers >= 0 for {', '.join(ACTIONS)}")
    values = {
        "currency": currency.upper(),
        "amount_per_point": amount_per_point,
        "bonuses": bonuses,
        "updated_at": int(time.time()),
    }
    with engine.begin() as conn:
        res = conn.execute(update(T_RULE).where(T_RULE.c.brand_id == brand_id).values(**values))
        if res.rowcount == 0:
            conn.execute(insert(T_RULE).values(brand_id=brand_id, **values))
    return get_rule(engine=engine, brand_id=brand_id)


@dataclass
class Earned:
    record: dict[str, Any]
    duplicate: bool  # the key was claimed before: nothing was earned by this request


def _record(engine: Engine, brand_id: str, key: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(T_EARN).where(T_EARN.c.brand_id == brand_id, T_EARN.c.idem_key == key)
            )
            .mappings()
            .one()
        )
    return dict(row)


def _claim(
    engine: Engine, values: dict[str, Any], queue: outbox.Issuer | None = None
) -> int | None:
    """Claim the key; with `queue`, the issue is queued in the outbox in the same transaction."""
    now = int(time.time())
    if values.get("ordered_at") is None:  # actions, and purchases sent without a POS time
        values = {**values, "ordered_at": now}
    try:
        with engine.begin() as conn:
            if queue is not None and values["points"] > 0:
                values = {**values, "intent_id": queue.enqueue(conn, values)}
            res = conn.execute(insert(T_EARN).values(status="pending", created_at=now, **values))
            return int(res.inserted_primary_key[0])  # type: ignore[index]
    except IntegrityError:
        return None


def _release(engine: Engine, ids: Sequence[int]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(T_EARN).where(T_EARN.c.id.in_(list(ids))))


def _confirm(engine: Engine, ids: Sequence[int], tx_hash: str | None, block: int | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(T_EARN)
            .where(T_EARN.c.id.in_(list(ids)))
            .values(status="confirmed", tx_hash=tx_hash, block_number=block)
        )


def _earn_one(
    *,
    engine: Engine,
    sender: Sender,
    program: Program,
    values: dict[str, Any],
    queued: bool = False,
) -> Earned:
    brand_id = program.brand_id
    queue = outbox.Issuer(sender, program) if queued else None
    rid = _claim(engine, {"brand_id": brand_id, **values}, queue)
    if rid is None:
        return _duplicate(engine, brand_id, values)
    if queue is not None and values["points"] > 0:
        return Earned(_record(engine, brand_id, values["idem_key"]), duplicate=False)
    if values["points"] == 0:
        _confirm(engine, [rid], None, None)
        return Earned(_record(engine, brand_id, values["idem_key"]), duplicate=False)
    try:
        receipt = ledger.issue_points(
            sender=sender,
            program=program,
            member=values["member"],
            amount=values["points"],
            reason=values["reason"],
            ref=values["order_id"] or values["action_id"] or "",
        )
    except BaseException:
        _release(engine, [rid])
        raise
    _confirm(engine, [rid], receipt.tx_hash, receipt.block_number)
    return Earned(_record(engine, brand_id, values["idem_key"]), duplicate=False)


def _duplicate(engine: Engine, brand_id: str, values: dict[str, Any]) -> Earned:
    """The first record of a claimed key, when this request is the same one again."""
    first = _record(engine, brand_id, values["idem_key"])
    what = f"order id {values['order_id']!r}" if values["order_id"] else "this action id"
    check_same(first.get("request_hash"), values["request_hash"], what)
    return Earned(first, duplicate=True)


def _text(value: Any, what: str, limit: int = 128) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidInput(f"{what} must be text of 1 to {limit} characters")
    return value


def purchase_values(
    rule: Rule,
    *,
    member: str,
    order_id: str,
    amount: int,
    currency: str,
    items: int,
    ordered_at: datetime | str | None = None,
    earliest: int = EARLIEST_ORDER,
) -> dict[str, Any]:
    if isinstance(items, bool) or not isinstance(items, int) or items < 0:
        raise InvalidInput("items must be a whole number >= 0")
    order_id = _text(order_id, "order id")
    values = {
        "idem_key": f"order:{order_id}",
        "member": checksum_address(member),
        "reason": "purchase",
        "points": rule.purchase_points(amount, currency),
        "order_id": order_id,
        "order_amount": amount,
        "currency": currency.upper(),
        "items_count": items,
        "action_id": None,
        "ordered_at": order_time(ordered_at, earliest=earliest),
    }
    keys = ("member", "order_id", "order_amount", "currency", "items_count", "ordered_at")
    return values | {"request_hash": request_hash({k: values[k] for k in keys})}


def earn_purchase(
    *,
    engine: Engine,
    sender: Sender,
    program: Program,
    member: str,
    order_id: str,
    amount: int,
    currency: str,
    items: int,
    ordered_at: datetime | str | None = None,
    queued: bool = False,
) -> Earned:
    """Points for an order, once per order id (the brand's earn rule decides how many).

    `queued`: the issue is queued in the outbox with the claim, not sent and awaited here.

    `ordered_at` is the order's point-of-sale time (timezone-aware; default: now). A retry
    with the same order id returns the first record, whatever time it carries.
    """
    rule = get_rule(engine=engine, brand_id=program.brand_id)
    values = purchase_values(
        rule,
        member=member,
        order_id=order_id,
        amount=amount,
        currency=currency,
        items=items,
        ordered_at=ordered_at,
        earliest=programme_start(sender.w3, program),
    )
    return _earn_one(engine=engine, sender=sender, program=program, values=values, queued=queued)


def earn_action(
    *,
    engine: Engine,
    sender: Sender,
    program: Program,
    member: str,
    action: str,
    action_id: str,
    points: int | None = None,
    queued: bool = False,
) -> Earned:
    """A bonus for an action (signup, review, referral, survey, visit), once per action id.

    For a referral, `member` is the referrer and `action_id` the new member's address.
    """
    rule = get_rule(engine=engine, brand_id=program.brand_id)
    amount = rule.action_points(action) if points is None else points
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise InvalidInput("points must be a whole number >= 0")
    action_id = _text(action_id, "action id")
    if action == "referral":
        action_id = checksum_address(action_id)
    values = {
        "idem_key": f"action:{action}:{action_id}",
        "member": checksum_address(member),
        "reason": action,
        "points": amount,
        "order_id": None,
        "order_amount": None,
        "currency": None,
        "items_count": None,
        "action_id": action_id,
    }
    # The points come from the rule (which may change between retries): not part of the request.
    values["request_hash"] = request_hash({k: values[k] for k in ("member", "reason", "action_id")})
    return _earn_one(engine=engine, sender=sender, program=program, values=values, queued=queued)


def earn_purchases(
    *,
    engine: Engine,
    sender: Sender,
    program: Program,
    orders: Sequence[dict[str, Any]],
    queued: bool = False,
) -> list[Earned]:
    """Many orders at once: claim each, then one issueBatch per chunk for the new claims
    (`queued`: each claim queues its issue; the submitter batches them).

    Each order is the keyword arguments of `purchase_values` (`ordered_at` optional).
    """
    if not orders or len(orders) > MAX_BATCH:
        raise InvalidInput(f"a batch has 1 to {MAX_BATCH} orders")
    rule = get_rule(engine=engine, brand_id=program.brand_id)
    start = programme_start(sender.w3, program)
    rows = [purchase_values(rule, **o, earliest=start) for o in orders]
    if len({r["idem_key"] for r in rows}) != len(rows):
        raise InvalidInput("an order id appears twice in the batch")
    if queued:  # all or nothing, in one SQL transaction
        issuer = outbox.Issuer(sender, program)
        return [
            Earned(rec, dup) for rec, dup in claim_batch(engine, issuer, program.brand_id, rows)
        ]
    claimed: list[tuple[int, dict[str, Any]]] = []
    results: dict[str, Earned] = {}
    try:
        for r in rows:
            rid = _claim(engine, {"brand_id": program.brand_id, **r})
            if rid is None:
                results[r["idem_key"]] = _duplicate(engine, program.brand_id, r)
            else:
                claimed.append((rid, r))
        paying = [(rid, r) for rid, r in claimed if r["points"] > 0]
        receipts = []
        if paying:
            items = [
                ledger.BatchItem(member=r["member"], amount=r["points"], ref=r["order_id"])
                for _, r in paying
            ]
            receipts = ledger.issue_points_batch(
                sender=sender, program=program, items=items, reason="purchase"
            )
    except BaseException:
        _release(engine, [rid for rid, _ in claimed])
        raise
    # Chunks of DEFAULT_CHUNK items map to receipts in order.
    for i, (rid, _r) in enumerate(paying):
        rc = receipts[i // ledger.DEFAULT_CHUNK]
        _confirm(engine, [rid], rc.tx_hash, rc.block_number)
    free = [rid for rid, r in claimed if r["points"] == 0]
    if free:
        _confirm(engine, free, None, None)
    for _rid, r in claimed:
        results[r["idem_key"]] = Earned(
            _record(engine, program.brand_id, r["idem_key"]), duplicate=False
        )
    return [results[r["idem_key"]] for r in rows]


def brand_earnings(
    *, engine: Engine, brand_id: str, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    q = select(T_EARN).where(T_EARN.c.brand_id == brand_id)
    if before_id is not None:
        q = q.where(T_EARN.c.id < before_id)
    with engine.connect() as conn:
        return [
            dict(r) for r in conn.execute(q.order_by(T_EARN.c.id.desc()).limit(limit)).mappings()
        ]


__all__ = [
    "ACTIONS",
    "MAX_FUTURE_SECONDS",
    "Earned",
    "LedgerError",
    "Rule",
    "earn_action",
    "earn_purchase",
    "order_time",
    "programme_start",
]
