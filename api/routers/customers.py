"""Customers: holdings, eligible perks, history; gasless transfers and gifts they sign."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from loyalty_ledger import ledger
from loyalty_ledger.ledger import consent
from loyalty_ledger.programme import perks, views

from ..deps import MemberActorDep, MemberReadDep, PrincipalDep, StateDep, brand_scope
from ..schemas import TransferIn, TransferPrepareIn, TxOut, TypedData
from .writes import ACCEPTED, PreferHeader, relay_write

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("/{address}")
def summary(
    address: MemberReadDep,
    principal: PrincipalDep,
    state: StateDep,
    brand: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Balance, pass, tier and expiry per brand (from the mirror, with its block)."""
    brand = brand_scope(principal, brand)
    return views.member_summary(
        engine=state.engine,
        deployment=state.deployment,
        address=address,
        brand_ids=[brand] if brand else None,
    )


@router.get("/{address}/perks")
def my_perks(
    address: MemberReadDep,
    principal: PrincipalDep,
    state: StateDep,
    brand: Annotated[str | None, Query()] = None,
    eligible_only: bool = False,
) -> list[dict[str, Any]]:
    """Active perks with this member's eligibility."""
    brand = brand_scope(principal, brand)
    dep = state.deployment
    brands = [brand] if brand else sorted(dep.programs)
    out = []
    for perk, e in perks.eligible_perks(
        engine=state.engine, deployment=dep, address=address, brand_ids=brands
    ):
        if eligible_only and not e.eligible:
            continue
        out.append(
            {
                "perk": {
                    k: perk[k] for k in ("id", "brand_id", "name", "description", "point_cost")
                },
                "eligible": e.eligible,
                "reasons": [{"code": r.code, "detail": r.detail} for r in e.reasons],
                "as_of_block": e.as_of_block,
            }
        )
    return out


@router.get("/{address}/history")
def history(
    address: MemberReadDep,
    principal: PrincipalDep,
    state: StateDep,
    brand: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> dict[str, Any]:
    """The member's ledger entries in one brand, newest first (`before` pages on)."""
    program = state.deployment.program(brand_scope(principal, brand) or brand)
    return views.ledger_page(
        engine=state.engine, token=program.points, account=address, limit=limit, before_id=before
    )


@router.post("/{address}/transfers/prepare", response_model=TypedData)
def prepare_transfer(
    address: MemberActorDep, body: TransferPrepareIn, state: StateDep
) -> dict[str, Any]:
    """The EIP-712 ForwardRequest to sign for a transfer or gift (the customer needs no ETH)."""
    program = state.deployment.program(body.brand_id)
    if body.kind == "gift":
        call = ledger.gift_call(
            w3=state.w3, program=program, to=body.to, amount=body.amount, memo=body.memo
        )
    else:
        call = ledger.transfer_call(w3=state.w3, program=program, to=body.to, amount=body.amount)
    return consent.forward_typed_data(
        w3=state.w3, deployment=state.deployment, signer=address, call=call
    )


@router.post("/{address}/transfers", response_model=TxOut, responses=ACCEPTED)
def transfer(
    address: MemberActorDep, body: TransferIn, state: StateDep, prefer: PreferHeader = None
) -> Any:
    """Relay the signed transfer or gift (queued: 202, or the settled result with Prefer)."""
    program = state.deployment.program(body.brand_id)
    request = consent.forward_request(*body.parts())
    w3 = state.w3
    allowed = (
        consent.selector(ledger.gift_call(w3=w3, program=program, to=address, amount=1)),
        consent.selector(ledger.transfer_call(w3=w3, program=program, to=address, amount=1)),
    )
    consent.expect_call(
        request, consent.Expected(signer=address, to=program.points, selectors=allowed)
    )
    return relay_write(state, request, prefer)
