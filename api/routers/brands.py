"""Brands: earning (purchases, actions, batches), the earn rule, membership passes."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from web3.logs import DISCARD

from loyalty_ledger import ledger
from loyalty_ledger.auth.accounts import member_address
from loyalty_ledger.chain import contracts
from loyalty_ledger.ledger import outbox, passes, writes
from loyalty_ledger.programme import earn
from loyalty_ledger.programme.rules import tier_job
from loyalty_ledger.validate import checksum_address

from ..deps import BrandReader, IssuerDep, ProgramDep, StateDep
from ..schemas import (
    ActionIn,
    BatchIn,
    EarnOut,
    EarnRuleIn,
    EarnRuleOut,
    PassIssueIn,
    PassRenewIn,
    PassTierIn,
    PurchaseIn,
    TxOut,
)
from . import operations
from .writes import ACCEPTED, IdemHeader, PreferHeader, write

router = APIRouter(prefix="/brands/{brand_id}", tags=["brands"])


def _earned(e: earn.Earned) -> dict[str, Any]:
    return {**e.record, "duplicate": e.duplicate}


@router.get("")
def brand(brand_id: str, _r: BrandReader, program: ProgramDep) -> dict[str, Any]:
    """The brand's program: contract addresses and start block."""
    return program.to_json()


def earn_reply(state: StateDep, e: earn.Earned, prefer: str | None) -> Any:
    """As before without the outbox; with it 202 Accepted (or 200 once settled). With the
    outbox, a new earning also re-evaluates the member's tier (when the brand has tier rules)."""
    if state.settings.outbox and not e.duplicate:
        bid = e.record["brand_id"]
        tier_job.on_activity(
            engine=state.engine,
            sender=state.brand_sender(bid),
            program=state.deployment.program(bid),
            member=e.record["member"],
        )
    if not state.settings.outbox or e.record.get("status") == "confirmed":
        return _earned(e)
    iid = e.record.get("intent_id")
    fresh = (
        None if e.duplicate or iid is None else outbox.queued_earn(e.record["brand_id"], e.record)
    )
    return operations.accepted(state, _earned(e), iid, prefer, queued=fresh)


@router.post("/earn/purchase", response_model=EarnOut, responses={202: {"description": "Queued."}})
def earn_purchase(
    brand_id: str,
    body: PurchaseIn,
    _p: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
) -> Any:
    """Points for a purchase by the earn rule; the order id makes it happen once."""
    return earn_reply(
        state,
        earn.earn_purchase(
            engine=state.engine,
            sender=state.brand_writer(brand_id),
            program=program,
            member=member_address(state.engine, body.member),
            order_id=body.order_id,
            amount=body.amount,
            currency=body.currency,
            items=body.items,
            ordered_at=body.ordered_at,
            channel=body.channel,
            store_id=body.store_id,
            tags=body.tags,
            queued=state.settings.outbox,
        ),
        prefer,
    )


@router.post("/earn/action", response_model=EarnOut, responses={202: {"description": "Queued."}})
def earn_action(
    brand_id: str,
    body: ActionIn,
    _p: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
) -> Any:
    """A bonus for an action: signup, review, referral (action id: the new member), survey,
    visit, or any action a rule of the brand names (e.g. social_share)."""
    return earn_reply(
        state,
        earn.earn_action(
            engine=state.engine,
            sender=state.brand_writer(brand_id),
            program=program,
            member=body.member,
            action=body.action,
            action_id=body.action_id,
            queued=state.settings.outbox,
        ),
        prefer,
    )


@router.post("/earn/batch", response_model=list[EarnOut], responses=ACCEPTED)
def earn_batch(
    brand_id: str,
    body: BatchIn,
    _p: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
) -> Any:
    """Many purchases at once (each order id earns once); 202 until every one is settled."""
    orders = [
        {**o.model_dump(), "member": member_address(state.engine, o.member)} for o in body.orders
    ]
    earned = earn.earn_purchases(
        engine=state.engine,
        sender=state.brand_writer(brand_id),
        program=program,
        orders=orders,
        queued=state.settings.outbox,
    )
    out = [_earned(e) for e in earned]
    deadline = time.monotonic() + operations.prefer_wait(prefer)
    for rec in out:
        if rec.get("status") == "pending" and rec.get("intent_id"):
            row = outbox.wait(state.engine, rec["intent_id"], deadline - time.monotonic())
            assert row is not None
            rec.update(operations.settled_earning(row))
    if any(r["status"] == "pending" for r in out):
        return JSONResponse(out, status_code=202)
    return out


@router.get("/earn-rule", response_model=EarnRuleOut)
def get_rule(brand_id: str, _r: BrandReader, _prog: ProgramDep, state: StateDep) -> Any:
    """The earn rule (points per purchase amount, action bonuses)."""
    return earn.get_rule(engine=state.engine, brand_id=brand_id).__dict__


@router.put("/earn-rule", response_model=EarnRuleOut)
def set_rule(
    brand_id: str, body: EarnRuleIn, _p: IssuerDep, _prog: ProgramDep, state: StateDep
) -> Any:
    """Set the earn rule, e.g. 1 point per 10,000 VND."""
    return earn.set_rule(
        engine=state.engine,
        brand_id=brand_id,
        currency=body.currency,
        amount_per_point=body.amount_per_point,
        bonuses=body.bonuses,
    ).__dict__


def _pass_issued(state: StateDep, program: Any) -> operations.Finish:
    def finish(row: dict[str, Any]) -> dict[str, Any]:
        rc = writes.receipt_of(state.w3, row["tx_hash"])
        c = contracts.passes(state.w3, program)
        events = c.events.PassIssued().process_receipt(rc.raw, errors=DISCARD)
        return {"token_id": int(events[0]["args"]["tokenId"])} if events else {}

    return finish


@router.post("/passes", status_code=201, responses=ACCEPTED)
def issue_pass(
    brand_id: str,
    body: PassIssueIn,
    _p: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Issue a membership pass at a tier (number or name), optionally expiring."""
    member = checksum_address(body.member)
    return write(
        state,
        f"brand:{brand_id}",
        lambda s: passes.issue_pass(
            sender=s, program=program, member=member, tier=body.tier, expires_at=body.expires_at
        ),
        key=f"pass-issue:{brand_id}:{member}:{idempotency_key or ''}",
        unique=idempotency_key is None,
        prefer=prefer,
        body={"member": member},
        finish=_pass_issued(state, program),
    )


@router.patch("/passes/{member}", response_model=TxOut, responses=ACCEPTED)
def set_tier(
    brand_id: str,
    member: str,
    body: PassTierIn,
    _p: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Upgrade (or downgrade) a member's pass."""
    addr = checksum_address(member)
    return write(
        state,
        f"brand:{brand_id}",
        lambda s: ledger.set_tier(sender=s, program=program, member=addr, tier=body.tier),
        key=f"pass-tier:{brand_id}:{addr}:{idempotency_key or ''}",
        unique=idempotency_key is None,
        prefer=prefer,
    )


@router.post("/passes/{member}/renew", response_model=TxOut, responses=ACCEPTED)
def renew(
    brand_id: str,
    member: str,
    body: PassRenewIn,
    _p: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Renew a pass until a new expiry (0: never)."""
    addr = checksum_address(member)
    return write(
        state,
        f"brand:{brand_id}",
        lambda s: ledger.renew_pass(
            sender=s, program=program, member=addr, expires_at=body.expires_at
        ),
        key=f"pass-renew:{brand_id}:{addr}:{idempotency_key or ''}",
        unique=idempotency_key is None,
        prefer=prefer,
    )


@router.delete("/passes/{member}", response_model=TxOut, responses=ACCEPTED)
def revoke(
    brand_id: str,
    member: str,
    _p: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Revoke a member's pass."""
    addr = checksum_address(member)
    return write(
        state,
        f"brand:{brand_id}",
        lambda s: ledger.revoke_pass(sender=s, program=program, member=addr),
        key=f"pass-revoke:{brand_id}:{addr}:{idempotency_key or ''}",
        unique=idempotency_key is None,
        prefer=prefer,
    )
