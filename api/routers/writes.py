"""Writes through the outbox, for every router: capture the transaction of a ledger operation
with the right key, queue it (with the request's rows) and answer 202 Accepted, or the settled
result when the caller sends `Prefer: wait=N`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header

from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.ledger import consent, writes
from loyalty_ledger.ledger.gasless import ForwardRequest
from loyalty_ledger.ledger.writes import Rows

from ..deps import AppState
from . import operations

PreferHeader = Annotated[
    str | None, Header(description="RFC 7240 `wait=N`: wait up to N seconds (at most 30)")
]
IdemHeader = Annotated[
    str | None,
    Header(min_length=1, max_length=128, description="retry safely: the same key, one write"),
]
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Queued: the operation to poll is in `operation` and `Location`."}
}


def signer(state: AppState, role: str) -> Sender:
    """The key of `role` ('operator', 'relayer' or 'brand:<id>'; 404 for an unknown brand)."""
    return state.brand_sender(role[6:]) if role.startswith("brand:") else state.sender(role)


def write(  # type: ignore[no-untyped-def]
    state: AppState,
    role: str,
    op: Callable[[Sender], object],
    *,
    key: str,
    prefer: str | None,
    unique: bool = False,
    body: dict[str, Any] | None = None,
    rows: Rows | None = None,
    before: Callable[[], None] | None = None,
    finish: operations.Finish | None = None,
):
    """Queue what `op(sender)` would send, signed by `role`'s key, under idempotency `key`
    (`unique`: a new write each time); answer as `operations.accepted` does."""
    call = writes.captured_call(signer(state, role), op)
    idem = key + (uuid.uuid4().hex if unique else "")
    queued = writes.queue(state.engine, call, idem_key=idem, rows=rows, before=before)
    return operations.accepted(state, body or {}, queued.intent_id, prefer, finish)


def relay_write(  # type: ignore[no-untyped-def]
    state: AppState,
    request: ForwardRequest,
    prefer: str | None,
    *,
    body: dict[str, Any] | None = None,
    finish: operations.Finish | None = None,
):
    """Queue a customer's signed request for the relayer key, once per signer and nonce; its
    signature, nonce, deadline and inner call are checked first (unless it is a replay)."""
    dep = state.deployment
    return write(
        state,
        "relayer",
        lambda s: consent.relay(relayer=s, deployment=dep, request=request, checked=True),
        key=f"relay:{request.from_}:{request.nonce}",
        prefer=prefer,
        body=body,
        before=lambda: consent.check_forward(w3=state.w3, deployment=dep, request=request),
        finish=finish,
    )
