"""A brand's books: ledger entries (mirror), earnings and redemptions (off-chain records)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from loyalty_ledger.programme import earn, perks, views

from ..deps import BrandReader, ProgramDep, StateDep

router = APIRouter(prefix="/brands/{brand_id}", tags=["ledger"])

Limit = Annotated[int, Query(ge=1, le=200)]
Before = Annotated[int | None, Query(ge=1, le=2**62)]


@router.get("/ledger")
def brand_ledger(
    brand_id: str,
    _r: BrandReader,
    program: ProgramDep,
    state: StateDep,
    limit: Limit = 50,
    before: Before = None,
) -> dict[str, Any]:
    """Every points entry of the brand, newest first (`before` pages on)."""
    return views.ledger_page(
        engine=state.engine, token=program.points, limit=limit, before_id=before
    )


@router.get("/earnings")
def brand_earnings(
    brand_id: str,
    _r: BrandReader,
    _prog: ProgramDep,
    state: StateDep,
    limit: Limit = 50,
    before: Before = None,
) -> list[dict[str, Any]]:
    """Earn records (order amount, currency, items) newest first."""
    return earn.brand_earnings(
        engine=state.engine, brand_id=brand_id, limit=limit, before_id=before
    )


@router.get("/redemptions")
def brand_redemptions(
    brand_id: str,
    _r: BrandReader,
    _prog: ProgramDep,
    state: StateDep,
    limit: Limit = 50,
    before: Before = None,
) -> list[dict[str, Any]]:
    """Perk redemptions (pending, confirmed, failed) newest first."""
    return perks.list_redemptions(
        engine=state.engine, brand_id=brand_id, limit=limit, before_id=before
    )
