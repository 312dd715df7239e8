"""The brand's till: check and use a member's voucher (the `cashier` role); the brand's
settings for wallet-less members (perk managers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from loyalty_ledger.auth.principal import Principal
from loyalty_ledger.programme import vouchers

from ..deps import PerkManagerDep, StateDep, brand_role
from ..member_schemas import MemberSettingsIn

router = APIRouter(prefix="/brands/{brand_id}", tags=["vouchers"])
CashierDep = Annotated[Principal, Depends(brand_role("cashier"))]


@router.get(
    "/vouchers/{code}", responses={409: {"description": "Used, expired, or another brand's"}}
)
def check_voucher(brand_id: str, code: str, _c: CashierDep, state: StateDep) -> dict[str, Any]:
    """Is this voucher good here now: the perk, the member, until when (or why not)."""
    state.deployment.program(brand_id)
    return vouchers.check(state.engine, brand_id, code)


@router.post("/vouchers/{code}")
def use_voucher(brand_id: str, code: str, cashier: CashierDep, state: StateDep) -> dict[str, Any]:
    """Use the voucher: once, at this brand only, before it expires."""
    state.deployment.program(brand_id)
    return vouchers.use(
        engine=state.engine, brand_id=brand_id, code=code, cashier=cashier.key_id or cashier.kind
    )


@router.get("/member-settings")
def member_settings(brand_id: str, _p: PerkManagerDep, state: StateDep) -> dict[str, int]:
    """Gifts above `step_up_above` points need a fresh proof; vouchers last `voucher_ttl` s."""
    return vouchers.settings_of(state.engine, brand_id, state.settings.gift_step_up_above)


@router.put("/member-settings")
def set_member_settings(
    brand_id: str, body: MemberSettingsIn, _p: PerkManagerDep, state: StateDep
) -> dict[str, int]:
    """Set the step-up threshold of gifts and how long vouchers stay valid."""
    state.deployment.program(brand_id)
    vouchers.set_settings(engine=state.engine, brand_id=brand_id, **body.model_dump())
    return vouchers.settings_of(state.engine, brand_id, state.settings.gift_step_up_above)
