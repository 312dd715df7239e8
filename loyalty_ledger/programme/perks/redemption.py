"""Safe perk redemption. Stock, the member's per-perk count and the points are reserved with
atomic conditional UPDATEs in the transaction that queues the burn in the outbox, and released
if the burn fails (`store.settle`), so concurrent requests can never exceed stock or limit nor
spend the same points twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.ledger import writes
from loyalty_ledger.ledger.consent import (
    Expected,
    check_forward,
    check_permit,
    expect_call,
    forward_request,
    permit,
    relay,
)
from loyalty_ledger.ledger.gasless import ForwardRequest, Permit
from loyalty_ledger.programme.idempotency import check_same, request_hash
from loyalty_ledger.programme.perks.catalogue import (
    T_HOLD,
    T_PERK,
    T_RED,
    T_USAGE,
    IdempotencyConflict,
    LimitReached,
    NotEligible,
    OutOfStock,
    PointsHeld,
    _now,
    get_perk,
)
from loyalty_ledger.programme.perks.eligibility import (
    eligibility,
)
from loyalty_ledger.validate import checksum_address


def redemption_ref(perk_id: int) -> str:
    """The on-chain reference of a perk's burns (the mirror groups redemptions by it)."""
    return f"perk:{perk_id}"


def redeem_call(*, w3: Web3, program: Program, perk: dict[str, Any]) -> Any:
    return ledger.redeem_call(
        w3=w3, program=program, amount=perk["point_cost"], ref=redemption_ref(perk["id"])
    )


def _upsert_zero(conn: Connection, tbl: Any, **key: Any) -> None:
    """INSERT … ON CONFLICT DO NOTHING (SQLite >= 3.24 and PostgreSQL)."""
    cols = ", ".join(key)
    params = ", ".join(f":{k}" for k in key)
    conn.execute(
        text(f"INSERT INTO {tbl.name} ({cols}) VALUES ({params}) ON CONFLICT DO NOTHING"), key
    )


@dataclass
class RedeemOutcome:
    redemption: dict[str, Any]
    replayed: bool = False  # True when the Idempotency-Key matched an earlier request
    intent_id: int | None = None  # the outbox intent that burns the points


def _get_redemption(engine: Engine, member: str, key: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(select(T_RED).where(T_RED.c.member == member, T_RED.c.idem_key == key))
            .mappings()
            .first()
        )
    return dict(row) if row else None


def redemption_by_key(*, engine: Engine, member: str, key: str) -> dict[str, Any] | None:
    """The member's redemption under an Idempotency-Key, if any (as it stands now)."""
    return _get_redemption(engine, checksum_address(member), key)


def _claim(
    conn: Connection,
    perk: dict[str, Any],
    member: str,
    key: str,
    method: str,
    body_hash: str,
    revive: bool,
) -> int:
    """Insert (or revive a failed) redemption row; IntegrityError when the key is taken."""
    values = {
        "request_hash": body_hash,
        "perk_id": perk["id"],
        "brand_id": perk["brand_id"],
        "member": member,
        "idem_key": key,
        "points": perk["point_cost"],
        "method": method,
        "status": "pending",
        "created_at": _now(),
    }
    if not revive:
        return int(conn.execute(insert(T_RED).values(**values)).inserted_primary_key[0])  # type: ignore[index]
    res = conn.execute(  # a failed attempt under the same key may be retried
        update(T_RED)
        .where(
            T_RED.c.member == member,
            T_RED.c.idem_key == key,
            T_RED.c.status == "failed",
            T_RED.c.perk_id == perk["id"],
        )
        .values(
            status="pending",
            error=None,
            method=method,
            created_at=_now(),
            request_hash=body_hash,
            tx_hash=None,
            block_number=None,
        )
    )
    if res.rowcount != 1:
        raise IdempotencyConflict("a request with this Idempotency-Key is already being redeemed")
    return int(
        conn.execute(
            select(T_RED.c.id).where(T_RED.c.member == member, T_RED.c.idem_key == key)
        ).scalar_one()
    )


def _reserve(
    conn: Connection, perk: dict[str, Any], member: str, token: str, balance: int
) -> list[str]:
    """Take one unit of stock, one use of the member's limit and hold the points, each with a
    conditional UPDATE; raises (the caller's transaction then rolls all of it back) when not."""
    taken: list[str] = []
    pid, cost = perk["id"], perk["point_cost"]
    res = conn.execute(
        update(T_PERK)
        .where(
            T_PERK.c.id == pid,
            T_PERK.c.active.is_(True),
            or_(T_PERK.c.total_stock.is_(None), T_PERK.c.redeemed_count < T_PERK.c.total_stock),
        )
        .values(redeemed_count=T_PERK.c.redeemed_count + 1)
    )
    if res.rowcount != 1:
        raise OutOfStock(pid)
    taken.append("stock")
    if perk["per_member_limit"] is not None:
        _upsert_zero(conn, T_USAGE, perk_id=pid, member=member, used=0)
        res = conn.execute(
            update(T_USAGE)
            .where(
                T_USAGE.c.perk_id == pid,
                T_USAGE.c.member == member,
                T_USAGE.c.used < perk["per_member_limit"],
            )
            .values(used=T_USAGE.c.used + 1)
        )
        if res.rowcount != 1:
            raise LimitReached(pid, perk["per_member_limit"])
        taken.append("usage")
    if cost > 0:
        _upsert_zero(conn, T_HOLD, token=token, member=member, held=0)
        res = conn.execute(
            update(T_HOLD)
            .where(
                T_HOLD.c.token == token,
                T_HOLD.c.member == member,
                T_HOLD.c.held + cost <= balance,
            )
            .values(held=T_HOLD.c.held + cost)
        )
        if res.rowcount != 1:
            raise PointsHeld(member)
        taken.append("hold")
    return taken


def _consent(
    *,
    w3: Web3,
    program: Program,
    perk: dict[str, Any],
    member: str,
    forward: tuple[dict[str, Any], str] | None,
    permit_data: tuple[dict[str, Any], str] | None,
    has_brand_sender: bool,
) -> tuple[str, ForwardRequest | None, Permit | None]:
    """The method and the parsed consent (a forward request or a permit) for a perk's cost."""
    cost = perk["point_cost"]
    if cost == 0:
        return "none", None, None
    if forward is not None:
        request = forward_request(*forward)
        call = redeem_call(w3=w3, program=program, perk=perk)
        data = bytes.fromhex(call._encode_transaction_data()[2:])
        expect_call(request, Expected(signer=member, to=program.points, data=data))
        return "forward", request, None
    if permit_data is not None:
        if not has_brand_sender:
            raise InvalidInput("permit redemption needs the brand's redeemer key")
        signed = permit(*permit_data)
        if signed.owner != member or signed.value != cost:
            raise InvalidInput(f"the permit must be from {member} for exactly {cost} points")
        return "permit", None, signed
    raise InvalidInput("a perk that costs points needs a signed request or permit")


def _body_hash(
    perk_id: int, member: str, request: ForwardRequest | None, signed: Permit | None
) -> str:
    """The canonical request: which perk, whose points, and the consent as parsed."""
    consent: dict[str, Any] | None = None
    if request is not None:
        consent = {"forward": request.message(), "signature": request.signature}
    elif signed is not None:
        consent = {"permit": signed.message(), "signature": signed.signature}
    return request_hash({"perk_id": perk_id, "member": member, "consent": consent})


def redeem(
    *,
    engine: Engine,
    w3: Web3,
    deployment: Deployment,
    perk_id: int,
    member: str,
    idempotency_key: str,
    relayer: Sender,
    brand_sender: Sender | None = None,
    forward: tuple[dict[str, Any], str] | None = None,
    permit_data: tuple[dict[str, Any], str] | None = None,
) -> RedeemOutcome:
    """Redeem `perk_id` for `member` with their signed consent; safe to retry with the same key.

    The consent is a signed ForwardRequest for `redeem(point_cost, "perk:<id>")` (relayed by
    `relayer`) or an ERC-2612 permit for `brand_sender` (a redeemer of the brand). Perks that
    cost no points need no signature. Everything is checked first (signature, nonce, stock,
    limit, points); then the redemption, its reservations and the burn's outbox intent are
    written in one SQL transaction; the redemption settles with the intent (`store.settle`).
    The same key with the same body replays the first outcome; with another body it is an
    IdempotencyConflict. A refused request leaves no row behind.
    """
    member = checksum_address(member)
    if not idempotency_key or len(idempotency_key) > 128:
        raise InvalidInput("an Idempotency-Key of 1 to 128 characters is required")
    perk = get_perk(engine=engine, perk_id=perk_id)
    program = deployment.program(perk["brand_id"])
    token = program.points.lower()
    method, request, signed_permit = _consent(
        w3=w3,
        program=program,
        perk=perk,
        member=member,
        forward=forward,
        permit_data=permit_data,
        has_brand_sender=brand_sender is not None,
    )
    body_hash = _body_hash(perk_id, member, request, signed_permit)
    earlier = _get_redemption(engine, member, idempotency_key)
    if earlier is not None and earlier["status"] != "failed":
        return _replay(earlier, perk_id, body_hash)
    [elig] = eligibility(engine=engine, deployment=deployment, perk=perk, addresses=[member])
    if not elig.eligible:
        raise NotEligible(elig.reasons)

    def rows(conn: Connection, intent_id: int | None) -> None:
        rid = _claim(conn, perk, member, idempotency_key, method, body_hash, earlier is not None)
        taken = _reserve(conn, perk, member.lower(), token, elig.balance)
        done = {"status": "confirmed"} if intent_id is None else {}
        if intent_id is None:  # nothing to burn: redeemed now, and the hold (none) is moot
            taken = []
        conn.execute(
            update(T_RED)
            .where(T_RED.c.id == rid)
            .values(intent_id=intent_id, reserved=",".join(taken), hold_token=token, **done)
        )

    if method == "none":
        with engine.begin() as conn:
            rows(conn, None)
        return RedeemOutcome(_get_redemption(engine, member, idempotency_key) or {})
    if request is not None:
        req = request
        call = writes.captured_call(
            relayer, lambda s: relay(relayer=s, deployment=deployment, request=req, checked=True)
        )
        check_forward(w3=w3, deployment=deployment, request=request)
    else:
        assert brand_sender is not None and signed_permit is not None
        sp = signed_permit
        check_permit(w3=w3, program=program, permit=sp, spender=brand_sender.address)
        call = writes.captured_call(
            brand_sender,
            lambda s: ledger.redeem_with_permit(
                sender=s, program=program, permit=sp, ref=redemption_ref(perk_id)
            ),
        )
    try:
        queued = writes.queue(
            engine, call, idem_key=f"redeem:{member}:{idempotency_key}", rows=rows
        )
    except IntegrityError:  # a concurrent request with the same key won
        again = _get_redemption(engine, member, idempotency_key)
        if again is None:
            raise IdempotencyConflict(
                "a request with this Idempotency-Key is being refused"
            ) from None
        return _replay(again, perk_id, body_hash)
    out = _get_redemption(engine, member, idempotency_key) or {}
    return RedeemOutcome(out, replayed=queued.replayed, intent_id=queued.intent_id)


def _replay(earlier: dict[str, Any], perk_id: int, body_hash: str) -> RedeemOutcome:
    if earlier["perk_id"] != perk_id:
        raise IdempotencyConflict("this Idempotency-Key was used for another perk")
    check_same(earlier.get("request_hash"), body_hash, "this Idempotency-Key")
    return RedeemOutcome(earlier, replayed=True, intent_id=earlier.get("intent_id"))


def get_redemption(*, engine: Engine, redemption_id: int) -> dict[str, Any]:
    """One redemption by id (as it stands now)."""
    with engine.connect() as conn:
        row = conn.execute(select(T_RED).where(T_RED.c.id == redemption_id)).mappings().one()
    return dict(row)


def list_redemptions(
    *, engine: Engine, brand_id: str, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    """A brand's redemptions, newest first (without the customers' idempotency keys)."""
    cols = [c for c in T_RED.c if c.name not in ("idem_key", "request_hash")]
    q = select(*cols).where(T_RED.c.brand_id == brand_id)
    if before_id is not None:
        q = q.where(T_RED.c.id < before_id)
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(T_RED.c.id.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]
