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

How many points an earning pays is decided by the brand's earn rules (`programme.rules`),
evaluated in the claim's own transaction; the rate and bonuses set here are kept as the default
rules `base-rate` and `bonus-<action>`, and the rate is the base a multiplier rule multiplies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from loyalty_ledger import ledger
from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import InvalidInput, LedgerError
from loyalty_ledger.ledger import outbox
from loyalty_ledger.programme import rules_cache
from loyalty_ledger.programme.accept import StaleRules
from loyalty_ledger.programme.claim_group import claim_grouped
from loyalty_ledger.programme.claims import claim, confirm, record, release_claims
from loyalty_ledger.programme.earn_batch import (
    Earned,
    claim_queued,
    queued_answer,
    refuse_conflicts,
)
from loyalty_ledger.programme.idempotency import check_same, request_hash
from loyalty_ledger.programme.order_time import (
    EARLIEST_ORDER,
    MAX_FUTURE_SECONDS,
    order_time,
    programme_start,
)
from loyalty_ledger.programme.rate import (
    ACTIONS,
    DEFAULT_AMOUNT_PER_POINT,
    DEFAULT_BONUSES,
    DEFAULT_CURRENCY,
    Rule,
    ensure_defaults,
    get_rule,
    plan_for,
    set_rule,
)
from loyalty_ledger.programme.rules import model as rule_model
from loyalty_ledger.programme.rules.live import Plan
from loyalty_ledger.store.offchain import EarnRecord, table
from loyalty_ledger.validate import checksum_address

MAX_BATCH = 500
T_EARN = table(EarnRecord)


def _send(
    engine: Engine, sender: Sender, program: Program, claimed: list[tuple[int, dict[str, Any]]]
) -> None:
    """Issue each paying record in the request; a failure releases those not yet mined."""
    free = [rid for rid, v in claimed if v["points"] == 0]
    if free:
        confirm(engine, free, None, None)
    todo = [(rid, v) for rid, v in claimed if v["points"] > 0]
    while todo:
        rid, v = todo[0]
        try:
            receipt = ledger.issue_points(
                sender=sender,
                program=program,
                member=v["member"],
                amount=v["points"],
                reason=v["reason"],
                ref=v["order_id"] or v["action_id"] or "",
            )
        except BaseException:
            release_claims(engine, [r for r, _ in todo])
            raise
        confirm(engine, [rid], receipt.tx_hash, receipt.block_number)
        todo.pop(0)


def _earn_one(
    *,
    engine: Engine,
    sender: Sender,
    program: Program,
    values: dict[str, Any],
    plan: Plan | None,
    queued: bool = False,
    snap: rules_cache.Snapshot | None = None,
) -> Earned:
    """Claim one earning (priced by `snap`'s rules when given, checked current in the claim's
    transaction; else by the rules read there)."""
    brand_id = program.brand_id
    queue = outbox.Issuer(sender, program) if queued else None
    rules, version = (None, None) if snap is None else (snap.rules, snap.version)
    ask = claim if queue is None else claim_grouped  # queued: committed with the others
    claimed = ask(engine, {"brand_id": brand_id, **values}, queue, plan, rules, version)
    if claimed is None:
        return _duplicate(engine, brand_id, values)
    if queue is None:
        _send(engine, sender, program, claimed)
        return Earned(record(engine, brand_id, values["idem_key"]), duplicate=False)
    return queued_answer(engine, brand_id, values, claimed)


def _earn_queued_batch(
    engine: Engine, sender: Sender, program: Program, rows: list[dict[str, Any]]
) -> list[Earned]:
    """`earn_batch.claim_queued`; an order whose rules changed meanwhile is claimed again
    alone, priced with the rules as they are now."""
    plan, jobs = claim_queued(engine, outbox.Issuer(sender, program), program, rows)
    kw = {"engine": engine, "sender": sender, "program": program, "queued": True}
    out, bid = [], program.brand_id
    for r, (got, error) in zip(rows, jobs, strict=True):
        if isinstance(error, StaleRules):
            out.append(_earn_one(**kw, values=r, plan=plan))  # type: ignore[arg-type]
        elif error is not None:
            raise error
        else:
            out.append(
                _duplicate(engine, bid, r) if got is None else queued_answer(engine, bid, r, got)
            )
    return out


def _duplicate(engine: Engine, brand_id: str, values: dict[str, Any]) -> Earned:
    """The first record of a claimed key, when this request is the same one again."""
    first = record(engine, brand_id, values["idem_key"])
    what = f"order id {values['order_id']!r}" if values["order_id"] else "this action id"
    check_same(first.get("request_hash"), values["request_hash"], what)
    return Earned(first, duplicate=True)


def _text(value: Any, what: str, limit: int = 128) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidInput(f"{what} must be text of 1 to {limit} characters")
    return value


def _order_extras(
    channel: str | None, store_id: str | None, tags: Sequence[str] | None
) -> dict[str, Any]:
    """An order's optional channel, store id and product tags, checked."""
    if channel is not None and channel not in rule_model.CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(rule_model.CHANNELS)}")
    if store_id is not None:
        store_id = _text(store_id, "store id", 64)
    tag_text = None
    if tags:
        if any(not isinstance(t, str) or not t or "," in t or len(t) > 64 for t in tags):
            raise InvalidInput("tags are text of 1 to 64 characters without commas")
        tag_text = ",".join(sorted(set(tags)))
        if len(tag_text) > 500:
            raise InvalidInput("tags: at most 500 characters in all")
    return {"channel": channel, "store_id": store_id, "tags": tag_text}


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
    channel: str | None = None,
    store_id: str | None = None,
    tags: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A purchase's record before the rules price it (`points`: the base rate's, a preview)."""
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
    } | _order_extras(channel, store_id, tags)
    keys = ["member", "order_id", "order_amount", "currency", "items_count", "ordered_at"]
    keys += [k for k in ("channel", "store_id", "tags") if values[k] is not None]
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
    channel: str | None = None,
    store_id: str | None = None,
    tags: Sequence[str] | None = None,
    queued: bool = False,
) -> Earned:
    """Points for an order, once per order id (the brand's earn rules decide how many).

    `queued`: the issue is queued in the outbox with the claim, not sent and awaited here.

    `ordered_at` is the order's point-of-sale time (timezone-aware; default: now). A retry
    with the same order id returns the first record, whatever time it carries.
    """

    def attempt(plan: Plan, snap: rules_cache.Snapshot, last: bool) -> Earned:
        values = purchase_values(
            snap.rule,
            member=member,
            order_id=order_id,
            amount=amount,
            currency=currency,
            items=items,
            ordered_at=ordered_at,
            earliest=programme_start(sender.w3, program),
            channel=channel,
            store_id=store_id,
            tags=tags,
        )
        kw = {"engine": engine, "sender": sender, "program": program, "queued": queued}
        got = None if last else snap
        return _earn_one(**kw, values=values, plan=plan, snap=got)  # type: ignore[arg-type]

    return rules_cache.priced(engine, program, attempt)


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
    """A bonus for an action, once per action id: the five built-in actions (signup, review,
    referral, survey, visit) or any action a rule of the brand names (`action:<name>`).

    For a referral, `member` is the referrer and `action_id` the new member's address.
    `points` given: exactly that many, without rules.
    """
    if not isinstance(action, str) or not rule_model.NAME.match(action):
        raise InvalidInput("action: a name of lowercase letters, digits and _ (e.g. review)")
    amount = 0 if points is None else points
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
    # The points come from the rules (which may change between retries): not part of the request.
    values["request_hash"] = request_hash({k: values[k] for k in ("member", "reason", "action_id")})

    def attempt(plan: Plan, snap: rules_cache.Snapshot, last: bool) -> Earned:
        if action not in ACTIONS and f"action:{action}" not in snap.triggers:
            raise InvalidInput(
                f"no earn rule of brand {program.brand_id} has the trigger action:{action}; "
                "define one (PUT /brands/{brand}/rules/{rule_id})"
            )
        kw = {"engine": engine, "sender": sender, "program": program, "queued": queued}
        if points is not None:  # exactly these points, without rules
            return _earn_one(**kw, values=values, plan=None)  # type: ignore[arg-type]
        got = None if last else snap
        return _earn_one(**kw, values=values, plan=plan, snap=got)  # type: ignore[arg-type]

    return rules_cache.priced(engine, program, attempt)


def earn_purchases(
    *,
    engine: Engine,
    sender: Sender,
    program: Program,
    orders: Sequence[dict[str, Any]],
    queued: bool = False,
) -> list[Earned]:
    """Many orders at once: claim each (the rules price it), then one issueBatch per chunk for
    the new claims (`queued`: each claim queues its issue; the submitter batches them).

    Each order is the keyword arguments of `purchase_values` (`ordered_at` optional).
    """
    if not orders or len(orders) > MAX_BATCH:
        raise InvalidInput(f"a batch has 1 to {MAX_BATCH} orders")
    ensure_defaults(engine=engine, brand_id=program.brand_id)
    rule = get_rule(engine=engine, brand_id=program.brand_id)
    start = programme_start(sender.w3, program)
    rows = [purchase_values(rule, **o, earliest=start) for o in orders]
    if len({r["idem_key"] for r in rows}) != len(rows):
        raise InvalidInput("an order id appears twice in the batch")
    if queued:  # an order id reused with other details refuses the whole batch, up front
        refuse_conflicts(engine, program.brand_id, rows)
        return _earn_queued_batch(engine, sender, program, rows)
    plan = plan_for(engine=engine, program=program, rule=rule)
    claimed: list[tuple[int, dict[str, Any]]] = []
    results: dict[str, Earned] = {}
    try:
        for r in rows:
            got = claim(engine, {"brand_id": program.brand_id, **r}, plan=plan)
            if got is None:
                results[r["idem_key"]] = _duplicate(engine, program.brand_id, r)
            else:
                claimed += got
        paying = [(rid, r) for rid, r in claimed if r["points"] > 0 and r["reason"] == "purchase"]
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
        release_claims(engine, [rid for rid, _ in claimed])
        raise
    # Chunks of DEFAULT_CHUNK items map to receipts in order.
    for i, (rid, _r) in enumerate(paying):
        rc = receipts[i // ledger.DEFAULT_CHUNK]
        confirm(engine, [rid], rc.tx_hash, rc.block_number)
    rest = [(rid, r) for rid, r in claimed if r["points"] == 0 or r["reason"] != "purchase"]
    _send(engine, sender, program, rest)  # free ones, and referrers' rewards
    for r in rows:
        if r["idem_key"] not in results:
            results[r["idem_key"]] = Earned(
                record(engine, program.brand_id, r["idem_key"]), duplicate=False
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
    "DEFAULT_AMOUNT_PER_POINT",
    "DEFAULT_BONUSES",
    "DEFAULT_CURRENCY",
    "MAX_FUTURE_SECONDS",
    "Earned",
    "LedgerError",
    "Rule",
    "earn_action",
    "earn_purchase",
    "ensure_defaults",
    "get_rule",
    "order_time",
    "programme_start",
    "set_rule",
]
