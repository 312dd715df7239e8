"""A brand's side of the coalition exchange, for the console: approve a pending exchange, or
decline (pause its side; lifted again with unpause). Signed by the brand's own key (its admin
on the points contract) through the outbox; the caller needs the brand's programme_manager (or
perk_manager) role, or is the operator."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path
from web3.logs import DISCARD

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.ledger import exchange, writes

from ..deps import ProgramDep, ProgrammeManagerDep, StateDep
from . import operations
from .writes import ACCEPTED, IdemHeader, PreferHeader

router = APIRouter(prefix="/brands/{brand_id}/exchanges", tags=["exchanges"])
ExchangeId = Annotated[int, Path(ge=0, le=2**62)]


def _opened(state: StateDep) -> operations.Finish:
    def finish(row: dict[str, Any]) -> dict[str, Any]:
        rc = writes.receipt_of(state.w3, row["tx_hash"])
        ex = exchange.exchange_contract(state.w3, state.deployment)
        return {"opened": bool(ex.events.ExchangeOpened().process_receipt(rc.raw, errors=DISCARD))}

    return finish


@router.post("/{exchange_id}/approve", responses=ACCEPTED)
def approve(
    brand_id: str,
    exchange_id: ExchangeId,
    _m: ProgrammeManagerDep,
    _p: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Approve the exchange for this brand (first granting it the role to burn and issue the
    brand's points, when it lacks it); `opened` once both brands approved."""
    sender = state.brand_sender(brand_id)
    calls = exchange.approval_calls(
        sender=sender, deployment=state.deployment, exchange_id=exchange_id, brand=brand_id
    )
    suffix = idempotency_key or uuid.uuid4().hex
    intent = None
    for n, fn in enumerate(calls):
        key = f"exchange-approve:{brand_id}:{exchange_id}:{n}:{suffix}"
        intent = writes.queue(state.engine, writes.Call(sender, fn), idem_key=key).intent_id
    body = {"exchange_id": exchange_id, "brand_id": brand_id, "approved": True}
    return operations.accepted(state, body, intent, prefer, _opened(state))


def _pause(
    brand_id: str,
    exchange_id: int,
    state: StateDep,
    paused: bool,
    prefer: str | None,
    idem: str | None,
) -> Any:
    info = exchange.exchange_of(w3=state.w3, deployment=state.deployment, exchange_id=exchange_id)
    if brand_id not in (info.from_brand, info.to_brand):
        raise InvalidInput(
            f"exchange {exchange_id} is between {info.from_brand} and {info.to_brand}"
        )
    sender = state.brand_sender(brand_id)
    fn = exchange.pause_call(
        sender=sender, deployment=state.deployment, exchange_id=exchange_id, paused=paused
    )
    verb = "pause" if paused else "unpause"
    key = f"exchange-{verb}:{brand_id}:{exchange_id}:{idem or uuid.uuid4().hex}"
    intent = writes.queue(state.engine, writes.Call(sender, fn), idem_key=key).intent_id
    body = {"exchange_id": exchange_id, "brand_id": brand_id, "paused": paused}
    return operations.accepted(state, body, intent, prefer)


@router.post("/{exchange_id}/pause", responses=ACCEPTED)
def pause(
    brand_id: str,
    exchange_id: ExchangeId,
    _m: ProgrammeManagerDep,
    _p: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Decline or pause the exchange for this brand's side (no swaps while any side pauses)."""
    return _pause(brand_id, exchange_id, state, True, prefer, idempotency_key)


@router.post("/{exchange_id}/unpause", responses=ACCEPTED)
def unpause(
    brand_id: str,
    exchange_id: ExchangeId,
    _m: ProgrammeManagerDep,
    _p: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Lift this brand's own pause (the other side's and the operator's stay)."""
    return _pause(brand_id, exchange_id, state, False, prefer, idempotency_key)
