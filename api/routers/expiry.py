"""Point expiry: a member's points by expiry date, the members whose points expire soon (for
reminders), and the brand's expiry policy."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from loyalty_ledger.ledger import lots

from .. import mirror
from ..deps import (
    BrandReader,
    IssuerDep,
    MemberReadDep,
    PrincipalDep,
    ProgramDep,
    StateDep,
    brand_scope,
)
from ..schemas import ExpiryPolicyIn
from .writes import ACCEPTED, IdemHeader, PreferHeader, write

router = APIRouter(tags=["expiry"])


@router.get("/customers/{address}/points/expiry")
def member_expiry(
    address: MemberReadDep, principal: PrincipalDep, state: StateDep, brand: str
) -> dict[str, Any]:
    """The member's live lots in one brand, soonest first, the permanent points and the total."""
    program = state.deployment.program(brand_scope(principal, brand) or brand)
    return mirror.member_lots(
        engine=state.engine, program=program, address=address, now=int(time.time())
    )


@router.get("/brands/{brand_id}/expiring")
def expiring(
    brand_id: str,
    _r: BrandReader,
    program: ProgramDep,
    state: StateDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[str | None, Query(max_length=42)] = None,
) -> dict[str, Any]:
    """Members with points expiring in the next `days` days, by address (`after` pages on)."""
    return mirror.expiring(
        engine=state.engine,
        program=program,
        days=days,
        now=int(time.time()),
        limit=limit,
        after=after,
    )


def _policy(state: Any, program: Any) -> dict[str, Any]:
    p = lots.policy_of(w3=state.w3, program=program)
    clock, now = p.clock, p.current_epoch
    expiry = clock.start(now + p.validity_epochs) if p.validity_epochs else None
    return {
        "brand_id": program.brand_id,
        **p.as_dict(),
        "current_epoch_start": mirror.iso(clock.start(now)),
        "next_epoch_start": mirror.iso(clock.start(now + 1)),
        "points_issued_now_expire_at": None if expiry is None else mirror.iso(expiry),
    }


@router.get("/brands/{brand_id}/expiry-policy")
def get_policy(brand_id: str, _r: BrandReader, program: ProgramDep, state: StateDep) -> Any:
    """The validity of newly issued points (0: never expire) and the program's epoch clock."""
    return _policy(state, program)


@router.put("/brands/{brand_id}/expiry-policy", responses=ACCEPTED)
def set_policy(
    brand_id: str,
    body: ExpiryPolicyIn,
    _p: IssuerDep,
    program: ProgramDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Set how many epochs newly issued points stay valid (points held keep their expiry)."""
    return write(
        state,
        f"brand:{brand_id}",
        lambda s: lots.set_validity_duration(sender=s, program=program, epochs=body.epochs),
        key=f"expiry-policy:{brand_id}:{idempotency_key or ''}",
        unique=idempotency_key is None,
        prefer=prefer,
        body={"brand_id": brand_id, "validity_epochs_requested": body.epochs},
        finish=lambda _row: _policy(state, program),
    )
