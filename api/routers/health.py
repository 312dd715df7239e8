"""Liveness and sync status: chain head, indexer checkpoint, lag."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from loyalty_ledger.programme import views

from ..deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(state: StateDep) -> JSONResponse:
    """Chain head, indexer checkpoint and lag; 503 when the node or the database is down."""
    out: dict[str, Any] = {"status": "ok", "chain_head": None, "indexer_checkpoint": None}
    try:
        out["chain_head"] = int(state.w3.eth.block_number)
        out["chain"] = "ok"
    except Exception as exc:  # any failure here means: not serving chain data
        out["chain"] = f"unreachable: {type(exc).__name__}"
        out["status"] = "degraded"
    try:
        st = views.mirror_state(engine=state.engine)
        out["database"] = "ok"
        out["indexer_checkpoint"] = st["checkpoint_block"] if st else None
    except Exception as exc:
        out["database"] = f"unavailable: {type(exc).__name__}"
        out["status"] = "degraded"
    head, cp = out["chain_head"], out["indexer_checkpoint"]
    out["lag_blocks"] = head - cp if head is not None and cp is not None else None
    if out["status"] != "ok":
        out["error"] = "unavailable"
        out["detail"] = f"chain: {out['chain']}; database: {out.get('database')}"
    return JSONResponse(out, status_code=200 if out["status"] == "ok" else 503)
