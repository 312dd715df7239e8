"""Perks: definitions (brand perk managers), eligibility, and redemption (customers)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from loyalty_ledger.auth import Forbidden, Principal
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.ledger import consent
from loyalty_ledger.programme import perks
from loyalty_ledger.store.reader import ReaderBusy
from loyalty_ledger.validate import checksum_address

from ..deps import AppState, EngineDep, PerkManagerDep, PrincipalDep, StateDep
from ..schemas import (
    EligibilityBatchIn,
    EligibilityOut,
    PerkCreate,
    PerkPublic,
    PerkUpdate,
    RedeemIn,
    RedeemPrepareIn,
    RedemptionOut,
    TypedData,
)
from . import operations
from .writes import ACCEPTED, PreferHeader

router = APIRouter(tags=["perks"])

PerkId = Annotated[int, Path(ge=1, le=2**62)]


def _sees_inactive(principal: Principal, brand_id: str) -> bool:
    """Switched-off perks are the brand's business: its keys, the operator and auditors."""
    return principal.kind != "customer" and principal.can_read_brand(brand_id)


def _visible(principal: Principal, perk: dict[str, Any]) -> dict[str, Any]:
    """The perk, or 404 for a caller who may not see it (the list endpoint's rule)."""
    if not perk["active"] and not _sees_inactive(principal, perk["brand_id"]):
        raise perks.PerkNotFound(perk["id"])
    return perk


def _perk_seen(engine: Any, principal: Principal, perk_id: int) -> dict[str, Any]:
    return _visible(principal, perks.get_perk(engine=engine, perk_id=perk_id))


def _perk_for(engine: Any, principal: Principal, perk_id: int, write_role: str | None) -> dict:
    perk = _perk_seen(engine, principal, perk_id)
    bid = perk["brand_id"]
    if write_role is not None and not principal.has_brand_role(bid, write_role):
        raise Forbidden(f"needs the {write_role} role of brand {bid}")
    return perk


@router.post("/brands/{brand_id}/perks", response_model=PerkPublic, status_code=201)
def create_perk(
    brand_id: str, body: PerkCreate, _p: PerkManagerDep, state: StateDep
) -> dict[str, Any]:
    """Define a perk for the brand."""
    return perks.create_perk(
        engine=state.engine,
        deployment=state.deployment,
        brand_id=brand_id,
        values=body.model_dump(),
    )


@router.get("/brands/{brand_id}/perks", response_model=list[PerkPublic])
def list_perks(brand_id: str, _p: PrincipalDep, state: StateDep) -> list[dict[str, Any]]:
    """The brand's perks (customers see the active ones)."""
    state.deployment.program(brand_id)
    active_only = not _sees_inactive(_p, brand_id)
    return perks.list_perks(engine=state.engine, brand_id=brand_id, active_only=active_only)


@router.get("/perks/{perk_id}", response_model=PerkPublic)
def get_perk(perk_id: PerkId, principal: PrincipalDep, engine: EngineDep) -> dict[str, Any]:
    """One perk (a switched-off one only for its brand, the operator and auditors)."""
    return _perk_seen(engine, principal, perk_id)


@router.patch("/perks/{perk_id}", response_model=PerkPublic)
def update_perk(
    perk_id: PerkId, body: PerkUpdate, principal: PrincipalDep, state: StateDep
) -> dict[str, Any]:
    """Change a perk (the brand's perk manager)."""
    _perk_for(state.engine, principal, perk_id, "perk_manager")
    return perks.update_perk(
        engine=state.engine,
        deployment=state.deployment,
        perk_id=perk_id,
        values=body.model_dump(exclude_unset=True),
    )


@router.delete("/perks/{perk_id}", response_model=PerkPublic)
def deactivate_perk(perk_id: PerkId, principal: PrincipalDep, engine: EngineDep) -> dict[str, Any]:
    """Switch a perk off (perks are kept: redemptions refer to them)."""
    _perk_for(engine, principal, perk_id, "perk_manager")
    return perks.deactivate_perk(engine=engine, perk_id=perk_id)


def _out(e: perks.Eligibility) -> EligibilityOut:
    return EligibilityOut(**_fields(e))


def _fields(e: perks.Eligibility) -> dict[str, Any]:
    """EligibilityOut's fields in its order (the JSON of the hot path is these, as they are)."""
    return {
        "perk_id": e.perk_id,
        "address": e.address,
        "eligible": e.eligible,
        "reasons": [{"code": r.code, "detail": r.detail} for r in e.reasons],
        "as_of_block": e.as_of_block,
        "strict": e.strict,
    }


def _check_readers(principal: Principal, perk: dict[str, Any], addresses: list[str]) -> None:
    if principal.kind == "customer":
        if any(checksum_address(a) != principal.address for a in addresses):
            raise Forbidden("a customer can only check their own address")
    elif not principal.can_read_brand(perk["brand_id"]):
        raise Forbidden(f"no access to brand {perk['brand_id']}")


def strict_answer(state: AppState, principal: Principal, perk_id: int, address: str) -> bytes:
    """Strict mode: the chain's state at its head (blocking I/O: the thread pool's business).

    Shared by the route and the hot path. The perk's scope is checked before the chain is read.
    """
    reader = state.reader
    if reader is not None:
        perk, used = perks.perk_and_use_sqlite(reader=reader, perk_id=perk_id, address=address)
        _check_readers(principal, _visible(principal, perk), [address])
        e = perks.strict_one(
            client=state.rpc, deployment=state.deployment, perk=perk, address=address, used=used
        )
        return orjson.dumps(_fields(e))
    perk = _perk_seen(state.engine, principal, perk_id)
    _check_readers(principal, perk, [address])
    [e] = perks.eligibility(
        engine=state.engine,
        deployment=state.deployment,
        perk=perk,
        addresses=[address],
        w3=state.w3,
        strict=True,
    )
    return orjson.dumps(_fields(e))


async def strict_answer_async(
    state: AppState, principal: Principal, perk_id: int, address: str
) -> bytes:
    """`strict_answer` on the event loop (the hot path's): the same checks and answer, the head
    from the loop's coalescing watch; the chain read in a thread only for a new head."""
    reader = state.reader
    if reader is None:
        raise ReaderBusy("no plain reader")
    perk, used = perks.perk_and_use_sqlite(reader=reader, perk_id=perk_id, address=address)
    _check_readers(principal, _visible(principal, perk), [address])
    e = await perks.strict_one_async(
        heads=state.rpc_async,
        client=state.rpc,
        deployment=state.deployment,
        perk=perk,
        address=address,
        used=used,
    )
    return orjson.dumps(_fields(e))


def _check_mirror(state: AppState, perk_id: int, address: str) -> tuple[dict[str, Any], Any]:
    return perks.check_one(
        engine=state.engine, deployment=state.deployment, perk_id=perk_id, address=address
    )


def answer_from_reader(state: AppState, principal: Principal, perk_id: int, address: str) -> bytes:
    """The mirror's answer through the plain SQLite reader (no thread hop), or ReaderBusy.

    Shared by the route and the hot path (`api.hotpath`), so both answer alike. The perk's
    scope is checked before anything is answered."""
    reader = state.reader
    if reader is None:
        raise ReaderBusy("no plain reader")
    perk, e = perks.check_one_sqlite(
        reader=reader, deployment=state.deployment, perk_id=perk_id, address=address
    )
    _check_readers(principal, _visible(principal, perk), [address])
    return orjson.dumps(_fields(e))


@router.get("/perks/{perk_id}/eligibility/{address}", response_model=EligibilityOut)
async def eligibility(
    perk_id: PerkId,
    address: str,
    principal: PrincipalDep,
    request: Request,
    strict: Annotated[bool, Query()] = False,
) -> Response:
    """Is `address` eligible now, every reason when not, and as of which block."""
    state: AppState = request.app.state.api  # not a dependency: the hot path pays for each
    if strict:
        body = await run_in_threadpool(strict_answer, state, principal, perk_id, address)
        return Response(body, media_type="application/json")
    # On SQLite a plain read on the event loop (tens of microseconds, never waiting on the
    # writer in WAL mode), else the engine in the thread pool.
    try:
        body = answer_from_reader(state, principal, perk_id, address)
    except ReaderBusy:
        perk, e = await run_in_threadpool(_check_mirror, state, perk_id, address)
        _check_readers(principal, _visible(principal, perk), [address])
        body = orjson.dumps(_fields(e))
    # Already in its final shape: skip FastAPI's second validation of the response.
    return Response(body, media_type="application/json")


@router.post("/perks/{perk_id}/eligibility", response_model=list[EligibilityOut])
def eligibility_batch(
    perk_id: PerkId, body: EligibilityBatchIn, principal: PrincipalDep, state: StateDep
) -> list[EligibilityOut]:
    """Eligibility of many addresses at once."""
    perk = _perk_seen(state.engine, principal, perk_id)
    _check_readers(principal, perk, body.addresses)
    out = perks.eligibility(
        engine=state.engine,
        deployment=state.deployment,
        perk=perk,
        addresses=body.addresses,
        w3=state.w3 if body.strict else None,
        strict=body.strict,
    )
    return [_out(e) for e in out]


def _redeemer(principal: Principal, perk: dict[str, Any], member: str | None) -> str:
    """Whose points: the signed-in customer, or (brand redeemer keys) the named member."""
    if principal.kind == "customer":
        if member is not None and checksum_address(member) != principal.address:
            raise Forbidden("a customer can only redeem for their own address")
        assert principal.address is not None
        return principal.address
    if not principal.has_brand_role(perk["brand_id"], "redeemer"):
        raise Forbidden(f"needs a customer session or the redeemer role of {perk['brand_id']}")
    if member is None:
        raise InvalidInput("a brand redeemer must name the member")
    return checksum_address(member)


@router.post("/perks/{perk_id}/redeem/prepare", response_model=TypedData)
def prepare_redeem(
    perk_id: PerkId, body: RedeemPrepareIn, principal: PrincipalDep, state: StateDep
) -> dict[str, Any]:
    """The EIP-712 data the member signs to consent to the burn (ForwardRequest or permit)."""
    perk = _perk_seen(state.engine, principal, perk_id)
    member = _redeemer(principal, perk, body.member)
    if not perk["active"]:
        raise perks.NotEligible([perks.Reason("perk_inactive", "the perk is switched off")])
    if perk["point_cost"] == 0:
        raise InvalidInput("this perk costs no points: redeem it without a signature")
    program = state.deployment.program(perk["brand_id"])
    if body.method == "permit":
        return consent.permit_typed_data(
            w3=state.w3,
            program=program,
            owner=member,
            spender=state.brand_sender(perk["brand_id"]).address,
            value=perk["point_cost"],
        )
    call = perks.redeem_call(w3=state.w3, program=program, perk=perk)
    return consent.forward_typed_data(
        w3=state.w3, deployment=state.deployment, signer=member, call=call
    )


@router.post("/perks/{perk_id}/redeem", response_model=RedemptionOut, responses=ACCEPTED)
def redeem(
    perk_id: PerkId,
    body: RedeemIn,
    principal: PrincipalDep,
    state: StateDep,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=128)],
    prefer: PreferHeader = None,
) -> Any:
    """Redeem a perk with the member's signature (the burn is queued: 202, or the settled
    redemption with Prefer: wait=N); retry safely with the same Idempotency-Key (another body
    under the same key is a 409 idempotency_conflict)."""
    perk = _perk_seen(state.engine, principal, perk_id)
    member = _redeemer(principal, perk, body.member)
    if body.forward is not None and body.permit is not None:
        raise InvalidInput("send a forward request or a permit, not both")
    brand_sender = state.brand_sender(perk["brand_id"]) if body.permit is not None else None
    out = perks.redeem(
        engine=state.engine,
        w3=state.w3,
        deployment=state.deployment,
        perk_id=perk_id,
        member=member,
        idempotency_key=idempotency_key,
        relayer=state.sender("relayer"),
        brand_sender=brand_sender,
        forward=body.forward.parts() if body.forward else None,
        permit_data=body.permit.parts() if body.permit else None,
    )
    red = {**out.redemption, "replayed": out.replayed}
    if out.redemption.get("status") != "pending" or out.intent_id is None:
        return red

    def settled(_row: dict[str, Any]) -> dict[str, Any]:
        again = perks.get_redemption(engine=state.engine, redemption_id=red["id"])
        return {k: again[k] for k in ("status", "tx_hash", "block_number", "error")}

    return operations.accepted(state, red, out.intent_id, prefer, settled)
