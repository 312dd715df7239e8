"""API keys for the console: the operator creates (with a brand and roles), lists and revokes
them; a brand key sees its own brand's keys. The full key is shown once, at creation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field, StrictStr

from loyalty_ledger import auth
from loyalty_ledger.errors import NotFound

from ..deps import DeploymentDep, OperatorDep, PrincipalDep, StateDep
from ..schemas import Strict

router = APIRouter(prefix="/keys", tags=["keys"])
KeyId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]


class KeyIn(Strict):
    kind: StrictStr = Field(default="brand", max_length=16)
    brand_id: StrictStr | None = Field(default=None, max_length=32)
    roles: list[StrictStr] = Field(default_factory=list, max_length=6)
    label: StrictStr = Field(default="", max_length=128)


@router.get("")
def list_keys(principal: PrincipalDep, state: StateDep) -> dict[str, Any]:
    """Keys (never their secrets): all for the operator, the brand's own for a brand key."""
    if principal.kind not in ("operator", "brand"):
        raise auth.Forbidden("keys are listed for the operator or a brand key")
    keys = auth.list_api_keys(engine=state.engine)
    if principal.kind == "brand":
        keys = [k for k in keys if k["brand_id"] == principal.brand_id]
    return {"keys": keys}


@router.post("", status_code=201)
def create_key(
    body: KeyIn, _op: OperatorDep, state: StateDep, dep: DeploymentDep
) -> dict[str, Any]:
    """Create a key; the answer carries the full key, shown this once."""
    if body.brand_id is not None:
        dep.program(body.brand_id)  # an unknown brand is a 404 naming the deployed ones
    key_id, key = auth.create_api_key(
        engine=state.engine,
        kind=body.kind,
        brand_id=body.brand_id,
        roles=body.roles,
        label=body.label,
    )
    return {"key_id": key_id, "key": key}


@router.delete("/{key_id}", status_code=204)
def revoke_key(key_id: KeyId, _op: OperatorDep, state: StateDep) -> None:
    """Revoke a key (takes effect within seconds: verified keys are cached briefly)."""
    if not auth.revoke_api_key(engine=state.engine, key_id=key_id):
        raise NotFound(f"no active key {key_id}")
