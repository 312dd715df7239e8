"""The perk catalogue: definitions in SQL, created, edited and switched off by the brand, and
the errors every perk operation raises.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.errors import (
    IdempotencyConflict,
    InvalidInput,
    LedgerError,
)
from loyalty_ledger.store.models import Balance, IndexerState, Member, Pass
from loyalty_ledger.store.offchain import PerkRow, PerkUsage, PointHold, Redemption, table

PERK_FIELDS = (
    "name",
    "description",
    "min_points",
    "min_tier",
    "active_pass_required",
    "partner_brand_id",
    "point_cost",
    "per_member_limit",
    "total_stock",
    "valid_from",
    "valid_until",
    "active",
)

T_PERK, T_USAGE, T_HOLD, T_RED = (
    table(PerkRow),
    table(PerkUsage),
    table(PointHold),
    table(Redemption),
)
T_BAL, T_PASS, T_MEMBER, T_STATE = (
    Balance.__table__,  # type: ignore[attr-defined]
    Pass.__table__,  # type: ignore[attr-defined]
    Member.__table__,  # type: ignore[attr-defined]
    IndexerState.__table__,  # type: ignore[attr-defined]
)


# --- errors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a member is not eligible for a perk."""

    code: str
    detail: str


class PerkNotFound(LedgerError):
    code = "perk_not_found"

    def __init__(self, perk_id: int) -> None:
        super().__init__(f"no perk {perk_id}")
        self.perk_id = perk_id


class PerkExists(LedgerError):
    code = "perk_exists"


class NotEligible(LedgerError):
    code = "not_eligible"

    def __init__(self, reasons: Sequence[Reason]) -> None:
        super().__init__("not eligible: " + "; ".join(r.detail for r in reasons))
        self.reasons = list(reasons)


class OutOfStock(LedgerError):
    code = "out_of_stock"

    def __init__(self, perk_id: int) -> None:
        super().__init__(f"perk {perk_id} is out of stock")


class LimitReached(LedgerError):
    code = "limit_reached"

    def __init__(self, perk_id: int, limit: int) -> None:
        super().__init__(f"the member has redeemed perk {perk_id} {limit} times already")


class PointsHeld(LedgerError):
    code = "points_held"

    def __init__(self, member: str) -> None:
        super().__init__(f"{member}'s points are held by redemptions in flight; try again")


class MirrorNotReady(LedgerError):
    code = "mirror_not_ready"

    def __init__(self) -> None:
        super().__init__("the SQL mirror has not indexed the network yet")


def _now() -> int:
    return int(time.time())


def _check_definition(values: dict[str, Any], deployment: Deployment) -> None:
    for name in ("min_points", "point_cost"):
        if name in values and (values[name] is None or values[name] < 0):
            raise InvalidInput(f"{name} must be a whole number >= 0")
    for name in ("per_member_limit", "total_stock"):
        if values.get(name) is not None and values[name] < 0:
            raise InvalidInput(f"{name} must be >= 0 (or null for no limit)")
    if values.get("min_tier") is not None and values["min_tier"] < 0:
        raise InvalidInput("min_tier must be >= 0")
    partner = values.get("partner_brand_id")
    if partner is not None:
        deployment.program(partner)  # UnknownProgram when the partner does not exist
    vf, vu = values.get("valid_from"), values.get("valid_until")
    if vf is not None and vu is not None and vu <= vf:
        raise InvalidInput("valid_until must be after valid_from")


def create_perk(
    *, engine: Engine, deployment: Deployment, brand_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Define a perk for `brand_id` (its program must exist)."""
    deployment.program(brand_id)
    values = {k: v for k, v in values.items() if k in PERK_FIELDS}
    _check_definition(values, deployment)
    try:
        with engine.begin() as conn:
            pid = conn.execute(
                insert(T_PERK).values(brand_id=brand_id, created_at=_now(), **values)
            ).inserted_primary_key[0]  # type: ignore[index]
    except IntegrityError:
        raise PerkExists(f"brand {brand_id} has a perk named {values.get('name')!r}") from None
    return get_perk(engine=engine, perk_id=int(pid))


__all__ = ["IdempotencyConflict"]  # raised here, defined in the one exception tree


def get_perk(*, engine: Engine, perk_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(T_PERK).where(T_PERK.c.id == perk_id)).mappings().first()
    if row is None:
        raise PerkNotFound(perk_id)
    return dict(row)


def list_perks(*, engine: Engine, brand_id: str, active_only: bool = False) -> list[dict[str, Any]]:
    q = select(T_PERK).where(T_PERK.c.brand_id == brand_id).order_by(T_PERK.c.id)
    if active_only:
        q = q.where(T_PERK.c.active.is_(True))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def update_perk(
    *, engine: Engine, deployment: Deployment, perk_id: int, values: dict[str, Any]
) -> dict[str, Any]:
    values = {k: v for k, v in values.items() if k in PERK_FIELDS}
    merged = {**get_perk(engine=engine, perk_id=perk_id), **values}
    _check_definition(merged, deployment)
    if values:
        try:
            with engine.begin() as conn:
                conn.execute(update(T_PERK).where(T_PERK.c.id == perk_id).values(**values))
        except IntegrityError:
            raise PerkExists(f"a perk named {values.get('name')!r} exists") from None
    return get_perk(engine=engine, perk_id=perk_id)


def deactivate_perk(*, engine: Engine, perk_id: int) -> dict[str, Any]:
    """Perks are never deleted (redemptions refer to them): they are switched off."""
    get_perk(engine=engine, perk_id=perk_id)
    with engine.begin() as conn:
        conn.execute(update(T_PERK).where(T_PERK.c.id == perk_id).values(active=False))
    return get_perk(engine=engine, perk_id=perk_id)
