"""The operator: onboard brands, register, freeze, unfreeze and recover members.

Registry writes are queued in the outbox (signed by the operator key): 202 Accepted with the
operation, or the settled result with `Prefer: wait=N`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from loyalty_ledger import ledger
from loyalty_ledger.auth import Forbidden
from loyalty_ledger.chain import deploy
from loyalty_ledger.validate import checksum_address

from ..deps import OperatorDep, PrincipalDep, StateDep
from ..schemas import BrandIn, MemberIn, RecoverIn, TxOut
from .writes import ACCEPTED, IdemHeader, PreferHeader, write

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/brands", status_code=201)
def onboard_brand(body: BrandIn, _op: OperatorDep, state: StateDep) -> dict[str, Any]:
    """Deploy a brand's program (points + pass) and record it in the deployment file."""
    dep = deploy.Deployment.from_json(state.deployment.to_json())  # a copy: saved on success
    admin = body.admin or state.keys.account(f"brand:{body.brand_id}").address
    program = deploy.add_brand(
        state.w3,
        state.sender("operator"),
        dep,
        brand_id=body.brand_id,
        name=body.name,
        symbol=body.symbol,
        admin=checksum_address(admin),
        tiers=body.tiers,
    )
    state.save_deployment(dep)
    return program.to_json()


@router.post("/members", response_model=TxOut, status_code=201, responses=ACCEPTED)
def register(
    body: MemberIn,
    _op: OperatorDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Register (KYC) a member."""
    member = checksum_address(body.address)
    return write(
        state,
        "operator",
        lambda s: ledger.register_member(sender=s, deployment=state.deployment, member=member),
        key=f"register:{member}:{idempotency_key or ''}",
        prefer=prefer,
        unique=idempotency_key is None,
    )


def _registry(state: Any, fn: Any, what: str, address: str, prefer: str | None, key: str | None):  # type: ignore[no-untyped-def]
    member = checksum_address(address)
    return write(
        state,
        "operator",
        lambda s: fn(sender=s, deployment=state.deployment, member=member),
        key=f"{what}:{member}:{key or ''}",
        prefer=prefer,
        unique=key is None,
    )


@router.get("/members/{address}")
def status(address: str, principal: PrincipalDep, state: StateDep) -> dict[str, Any]:
    """A member's registration, freeze and recovery status, read from the chain."""
    if principal.kind not in ("operator", "auditor"):
        raise Forbidden("needs the operator or an auditor key")
    return ledger.member_status(w3=state.w3, deployment=state.deployment, account=address).__dict__


@router.post("/members/{address}/freeze", response_model=TxOut, responses=ACCEPTED)
def freeze(
    address: str,
    _op: OperatorDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Freeze an account (no transfers in or out)."""
    return _registry(state, ledger.freeze_member, "freeze", address, prefer, idempotency_key)


@router.post("/members/{address}/unfreeze", response_model=TxOut, responses=ACCEPTED)
def unfreeze(
    address: str,
    _op: OperatorDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Unfreeze an account."""
    return _registry(state, ledger.unfreeze_member, "unfreeze", address, prefer, idempotency_key)


@router.post("/members/{address}/recover", response_model=TxOut, responses=ACCEPTED)
def recover(
    address: str,
    body: RecoverIn,
    _op: OperatorDep,
    state: StateDep,
    prefer: PreferHeader = None,
    idempotency_key: IdemHeader = None,
) -> Any:
    """Move a lost wallet's points and passes to a new registered wallet."""
    lost, new = checksum_address(address), checksum_address(body.new_wallet)
    return write(
        state,
        "operator",
        lambda s: ledger.recover_member(
            sender=s, deployment=state.deployment, lost_wallet=lost, new_wallet=new
        ),
        key=f"recover:{lost}:{new}:{idempotency_key or ''}",
        prefer=prefer,
        unique=idempotency_key is None,
    )
