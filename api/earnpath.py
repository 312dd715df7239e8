"""The write hot path: `POST /brands/{id}/earn/purchase` called without the framework's routing.

A till posts every order here; FastAPI's routing, dependency resolution and response
validation cost several times the route's own work outside the claim's SQL. This ASGI
middleware reads the body once, and when the request is the plain case (an API key verified
moments ago that holds the brand's issuer role, a known brand, a JSON body that `PurchaseIn`
accepts, no `Prefer` header) it calls the route's own function with what the route's
dependencies would have given it, in the thread pool as the route would run. Everything else
goes to the route untouched, the body replayed: a key that needs the database, a refused key,
an unknown brand, bad JSON or a body the model refuses, any unexpected error before the call.
So the route stays the one place that decides every refusal; an error raised by the route's
function itself is answered by the app's own exception handlers, as the route's would be.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import orjson
from anyio import to_thread
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response

from .credentials import credential, principal_at_hand
from .deps import AppState
from .routers.brands import earn_purchase
from .schemas import EarnOut, PurchaseIn

_EARN = re.compile(r"/brands/([^/]+)/earn/purchase")


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    """The request's headers by lower-case name (the first of each, as Starlette reads)."""
    out: dict[bytes, bytes] = {}
    for key, value in scope["headers"]:
        out.setdefault(key, value)
    return out


async def _read(receive: Any) -> tuple[bytes, list[dict[str, Any]]] | None:
    """The whole body and the messages it came in; None when the client left meanwhile."""
    messages, chunks = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def _replay(messages: list[dict[str, Any]], receive: Any) -> Any:
    """A `receive` that gives the messages already read first, then the client's own."""
    pending = list(messages)

    async def replayed() -> Any:
        return pending.pop(0) if pending else await receive()

    return replayed


class EarnPath:
    """ASGI middleware: calls the earn route's function for the plain case, defers the rest."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope["query_string"]:
            m = _EARN.fullmatch(get_route_path(scope))
            if m is not None:
                read = await _read(receive)
                if read is None:  # gone: let the route see the disconnect
                    await self.app(scope, _replay([{"type": "http.disconnect"}], receive), send)
                    return
                call = _call(scope, m.group(1), read[0])
                if call is not None:
                    await _answer(scope, receive, send, call)
                    return
                receive = _replay(read[1], receive)
        await self.app(scope, receive, send)


def _call(scope: dict[str, Any], brand_id: str, body: bytes) -> Any:
    """The route's function bound to its arguments, or None for the route to answer."""
    state: AppState | None = getattr(getattr(scope.get("app"), "state", None), "api", None)
    headers = _headers(scope)
    ctype = headers.get(b"content-type", b"")
    if state is None or b"prefer" in headers or ctype.split(b";")[0].strip() != b"application/json":
        return None
    try:
        key = headers.get(b"x-api-key")
        auth = headers.get(b"authorization")
        kind, value = credential(
            key.decode("latin-1") if key else None, auth.decode("latin-1") if auth else None
        )
        principal = principal_at_hand(kind, value)
        if principal is None or not principal.has_brand_role(brand_id, "issuer"):
            return None
        program = state.deployment.program(brand_id)
        order = PurchaseIn.model_validate(orjson.loads(body))
    except Exception:  # a refused key, an unknown brand, bad JSON: the route says what
        return None
    return partial(earn_purchase, brand_id, order, principal, program, state, None)


async def _answer(scope: dict[str, Any], receive: Any, send: Any, call: Any) -> None:
    """Run the route's function in the thread pool; answer its result as the route would."""
    try:
        result = await to_thread.run_sync(call)
    except Exception as exc:
        result = await _handled(scope, receive, exc)
    if not isinstance(result, Response):
        content = EarnOut.model_validate(result).model_dump(mode="json")
        result = Response(orjson.dumps(content), media_type="application/json")
    await result(scope, receive, send)


async def _handled(scope: dict[str, Any], receive: Any, exc: Exception) -> Response:
    """The app's exception handler's answer to `exc` (the most specific registered class)."""
    handlers = scope["app"].exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            reply = handler(Request(scope, receive), exc)
            if not isinstance(reply, Response):
                reply = await reply
            return reply  # type: ignore[no-any-return]
    raise exc
