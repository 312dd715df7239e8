"""The coalition exchange: the exchanges and their terms, quotes, and gasless swaps a member
signs (a ForwardRequest to the exchange, relayed by the API like a gasless transfer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from loyalty_ledger.errors import ExchangeTooSmall, InvalidInput
from loyalty_ledger.ledger import consent, exchange, writes

from .. import mirror
from ..deps import CustomerDep, MaybePrincipalDep, StateDep
from ..schemas import Signed, SwapOut, SwapPrepareIn, TypedData
from .writes import ACCEPTED, PreferHeader, relay_write

router = APIRouter(prefix="/exchanges", tags=["exchanges"])

ExchangeId = Annotated[int, Path(ge=0, le=2**62)]
Amount = Annotated[int, Query(gt=0, le=2**255, description="from-brand points to swap")]


@router.get("")
def list_exchanges(_p: MaybePrincipalDep, state: StateDep) -> dict[str, Any]:
    """Every exchange with its terms and status (open, paused, pending), from the mirror."""
    return mirror.exchanges(engine=state.engine)


@router.get("/{exchange_id}/quote")
def quote(
    exchange_id: ExchangeId, amount: Amount, principal: MaybePrincipalDep, state: StateDep
) -> dict[str, Any]:
    """What swapping `amount` burns and issues now, and what the cap and budget leave."""
    w3, dep = state.w3, state.deployment
    info = exchange.exchange_of(w3=w3, deployment=dep, exchange_id=exchange_id)
    q = exchange.quote(w3=w3, deployment=dep, exchange_id=exchange_id, amount=amount)
    minimum = -(-info.rate_from // info.rate_to)
    if q.issued == 0:
        raise ExchangeTooSmall(amount, minimum)
    today = None
    if principal is not None and principal.kind == "customer" and principal.address:
        today = exchange.remaining_today(
            w3=w3, deployment=dep, exchange_id=exchange_id, member=principal.address
        )
    left = info.budget - info.issued
    return {
        "exchange": info.as_dict() | {"remaining_budget": left},
        "amount_in": amount,
        "burned": q.burned,
        "issued": q.issued,
        "rate": {"from": info.rate_from, "to": info.rate_to},
        "minimum": minimum,
        "remaining_today": today,
        "remaining_budget": left,
        "within_cap": None if today is None else q.burned <= today,
        "within_budget": q.issued <= left,
    }


@router.post("/{exchange_id}/swaps/prepare", response_model=TypedData)
def prepare_swap(
    exchange_id: ExchangeId, body: SwapPrepareIn, customer: CustomerDep, state: StateDep
) -> dict[str, Any]:
    """The EIP-712 ForwardRequest the signed-in member signs to swap (no ETH needed); a swap
    that would fail (paused, over the cap or budget, too small) is refused here."""
    call = exchange.swap_call(
        w3=state.w3, deployment=state.deployment, exchange_id=exchange_id, amount=body.amount
    )
    assert customer.address is not None
    return consent.forward_typed_data(
        w3=state.w3, deployment=state.deployment, signer=customer.address, call=call
    )


@router.post("/{exchange_id}/swaps", response_model=SwapOut, responses=ACCEPTED)
def swap(
    exchange_id: ExchangeId,
    body: Signed,
    customer: CustomerDep,
    state: StateDep,
    prefer: PreferHeader = None,
) -> Any:
    """Relay the signed swap (queued: 202); once mined, the points burned and issued."""
    w3, dep = state.w3, state.deployment
    assert customer.address is not None
    request = consent.forward_request(*body.parts())
    call = exchange.swap_call(w3=w3, deployment=dep, exchange_id=exchange_id, amount=1)
    consent.expect_call(
        request,
        consent.Expected(
            signer=customer.address, to=call.address, selectors=(consent.selector(call),)
        ),
    )
    if request.data[4:36] != exchange_id.to_bytes(32, "big"):
        raise InvalidInput(f"the signed swap is not on exchange {exchange_id}")

    def swapped(row: dict[str, Any]) -> dict[str, Any]:
        done = exchange.swap_of(
            w3=w3, deployment=dep, receipt=writes.receipt_of(w3, row["tx_hash"])
        )
        return {"exchange_id": done.exchange_id, "burned": done.burned, "issued": done.issued}

    return relay_write(state, request, prefer, body={"exchange_id": exchange_id}, finish=swapped)
