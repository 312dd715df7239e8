"""The operator: onboard brands, register, freeze, unfreeze and recover members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from loyalty_ledger import ledger
from loyalty_ledger.auth import Forbidden
from loyalty_ledger.chain import deploy
from loyalty_ledger.validate import checksum_address

from ..deps import OperatorDep, PrincipalDep, StateDep
from ..schemas import BrandIn, MemberIn, RecoverIn, TxOut

router = APIRouter(prefix="/admin", tags=["admin"])


def _tx(receipt: Any) -> TxOut:
    return TxOut(tx_hash=receipt.tx_hash, status="confirmed", block_number=receipt.block_number)


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


@router.post("/members", response_model=TxOut, status_code=201)
def register(body: MemberIn, _op: OperatorDep, state: StateDep) -> TxOut:
    """Register (KYC) a member."""
    return _tx(
        ledger.register_member(
            sender=state.sender("operator"), deployment=state.deployment, member=body.address
        )
    )


@router.get("/members/{address}")
def status(address: str, principal: PrincipalDep, state: StateDep) -> dict[str, Any]:
    """A member's registration, freeze and recovery status, read from the chain."""
    if principal.kind not in ("operator", "auditor"):
        raise Forbidden("needs the operator or an auditor key")
    return ledger.member_status(w3=state.w3, deployment=state.deployment, account=address).__dict__


@router.post("/members/{address}/freeze", response_model=TxOut)
def freeze(address: str, _op: OperatorDep, state: StateDep) -> TxOut:
    """Freeze an account (no transfers in or out)."""
    return _tx(
        ledger.freeze_member(
            sender=state.sender("operator"), deployment=state.deployment, member=address
        )
    )


@router.post("/members/{address}/unfreeze", response_model=TxOut)
def unfreeze(address: str, _op: OperatorDep, state: StateDep) -> TxOut:
    """Unfreeze an account."""
    return _tx(
        ledger.unfreeze_member(
            sender=state.sender("operator"), deployment=state.deployment, member=address
        )
    )


@router.post("/members/{address}/recover", response_model=TxOut)
def recover(address: str, body: RecoverIn, _op: OperatorDep, state: StateDep) -> TxOut:
    """Move a lost wallet's points and passes to a new registered wallet."""
    return _tx(
        ledger.recover_member(
            sender=state.sender("operator"),
            deployment=state.deployment,
            lost_wallet=address,
            new_wallet=body.new_wallet,
        )
    )
