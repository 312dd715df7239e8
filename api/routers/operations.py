"""Operations: the state of a queued chain write (the outbox), and the Prefer: wait header."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from loyalty_ledger.auth import Forbidden
from loyalty_ledger.errors import UnknownOperation
from loyalty_ledger.ledger import outbox
from loyalty_ledger.store import outbox as sql

from ..deps import AppState, PrincipalDep, StateDep
from ..errors import status_of_code

router = APIRouter(prefix="/operations", tags=["operations"])
MAX_WAIT = 30.0
WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+(?:\.\d+)?)")


def prefer_wait(prefer: str | None) -> float:
    """Seconds from an RFC 7240 `Prefer: wait=N` header (0 when absent), at most MAX_WAIT."""
    m = WAIT.search(prefer or "")
    return min(float(m.group(1)), MAX_WAIT) if m else 0.0


Finish = Callable[[dict[str, Any]], dict[str, Any]]


def accepted(  # type: ignore[no-untyped-def]
    state: AppState,
    body: dict[str, Any],
    intent_id: int | None,
    prefer: str | None,
    finish: Finish | None = None,
    *,
    queued: dict[str, Any] | None = None,
):
    """200 with `body` when the write is settled (after waiting as the caller prefers; with
    what `finish(row)` adds once mined), the decoded failure with its status when it failed,
    else 202 Accepted with the operation to poll (Location: /operations/{id}). `queued`: the
    intent as just queued, answered as it is when the caller does not wait (no read)."""
    if intent_id is None:
        return body
    wait_s = prefer_wait(prefer)
    row = queued if queued is not None and not wait_s else None
    row = row or outbox.wait(state.engine, intent_id, wait_s)
    assert row is not None
    op = outbox.operation(row)
    if row["state"] == "mined":
        out = {
            **body,
            "status": "confirmed",
            "tx_hash": row["tx_hash"],
            "block_number": row["block_number"],
            "operation": op,
        }
        return out | (finish(row) if finish is not None else {})
    if row["state"] == "failed":
        return JSONResponse(
            {"error": row["error_code"], "detail": row["error"], "operation": op},
            status_code=status_of_code(row["error_code"]),
        )
    return JSONResponse(
        {"status": "pending", "tx_hash": None, "block_number": None, **body, "operation": op},
        status_code=202,
        headers={"Location": f"/operations/{intent_id}"},
    )


def settled_earning(row: dict[str, Any]) -> dict[str, Any]:
    """An earning's state from its intent (failed: released, with the reason)."""
    op = {"operation": outbox.operation(row)}
    if row["state"] == "mined":
        return {
            "status": "confirmed",
            "tx_hash": row["tx_hash"],
            "block_number": row["block_number"],
        } | op
    if row["state"] == "failed":
        return {"status": "failed", "error": row["error"], "error_code": row["error_code"]} | op
    return op


@router.get("/{operation_id}")
def get_operation(
    operation_id: int,
    principal: PrincipalDep,
    state: StateDep,
    prefer: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """A queued chain write: queued, sent (tx hash, nonce), mined (block) or failed (why)."""
    row = sql.intent(state.engine, operation_id) if 0 < operation_id < 2**62 else None
    if row is None:
        raise UnknownOperation(f"no operation {operation_id}")
    if principal.kind == "customer":
        owner = [*row["idem_key"].split(":"), ""][1]  # relay:<signer>:…, redeem:<member>:…
        if not principal.address or owner.lower() != principal.address.lower():
            raise Forbidden(f"no access to operation {operation_id}")
    elif principal.kind not in ("operator", "auditor"):
        brands = [
            b
            for b, p in state.deployment.programs.items()
            if row["to_address"].lower() in (p.points.lower(), p.pass_.lower())
        ]
        if principal.kind != "brand" or principal.brand_id not in brands:
            raise Forbidden(f"no access to operation {operation_id}")
    if prefer_wait(prefer):
        row = outbox.wait(state.engine, operation_id, prefer_wait(prefer)) or row
    return outbox.operation(row)
