"""Liveness and sync status: chain head, indexer checkpoint, lag, and what is down since when."""

from __future__ import annotations

from typing import Any

import requests
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from loyalty_ledger.programme import views
from loyalty_ledger.store import database_unavailable

from ..deps import AppState, StateDep

router = APIRouter(tags=["health"])
PROBE_TIMEOUT = 2.0  # seconds: /health answers promptly even when the node hangs


def _node_head(state: AppState) -> int:
    """The node's head, asked directly with a short timeout (not through web3's retries)."""
    resp = requests.post(
        state.settings.rpc_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        timeout=min(PROBE_TIMEOUT, state.settings.rpc_timeout),
    )
    resp.raise_for_status()
    return int(resp.json()["result"], 16)


def _probe(state: AppState, out: dict[str, Any]) -> None:
    try:
        out["chain_head"] = _node_head(state)
        out["chain"] = "ok"
        state.outages.up("node")
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        out["chain"] = f"unreachable: {type(exc).__name__}"
        state.outages.down("node", type(exc).__name__, action="answering 503 for what needs it")
    try:
        st = views.mirror_state(engine=state.engine)
        out["database"] = "ok"
        out["indexer_checkpoint"] = st["checkpoint_block"] if st else None
        state.outages.up("database")
    except Exception as exc:
        out["database"] = f"unavailable: {type(exc).__name__}"
        reason = database_unavailable(exc) or type(exc).__name__
        state.outages.down("database", reason, action="answering 503 for what needs it")


@router.get("/health")
def health(state: StateDep) -> JSONResponse:
    """Chain head, indexer checkpoint and lag; 503 naming what is down, and since when."""
    out: dict[str, Any] = {"status": "ok", "chain_head": None, "indexer_checkpoint": None}
    _probe(state, out)
    head, cp = out["chain_head"], out["indexer_checkpoint"]
    out["lag_blocks"] = head - cp if head is not None and cp is not None else None
    out["down"] = down = state.outages.snapshot()
    if state.indexer_outages is not None:
        out["indexer"] = {"waiting_for": state.indexer_outages.snapshot()}
    if down:
        out["status"] = "degraded"
        out["error"] = "unavailable"
        out["detail"] = "; ".join(
            f"the {what} is unavailable since {o['since']} ({o['seconds']:g}s): {o['reason']}"
            for what, o in sorted(down.items())
        )
    return JSONResponse(out, status_code=503 if down else 200)
