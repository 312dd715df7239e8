"""The hot path: perk eligibility checks, and /health, answered before the framework routes
them.

A token-gated check runs at every page view and every till; FastAPI's routing and dependency
resolution cost more than the check itself. This ASGI middleware answers the success case of
`GET /perks/{id}/eligibility/{address}` (no query string, or exactly `strict=true`) when the
caller's credential was verified moments ago and the mirror is the embedded SQLite, with the
very functions the route uses. Everything else goes to the route untouched: a credential that
needs the database, a perk the caller may not see, bad input, a busy database, any error. So the
route stays the one place that decides every status other than 200, and a 200 here is byte for
byte the route's. /health is answered here whenever its cache can answer without a probe
(`routers.health`).
"""

from __future__ import annotations

import re
from typing import Any

from starlette._utils import get_route_path
from starlette.responses import JSONResponse, Response

from .credentials import credential, principal_at_hand
from .deps import AppState
from .routers.health import cache_of
from .routers.perks import answer_from_reader, strict_answer_async

_ELIGIBILITY = re.compile(r"/perks/([1-9][0-9]{0,18})/eligibility/([^/]+)")
_MAX_PERK_ID = 2**62  # PerkId's bound


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    """The first value of header `name` (lower case), as Starlette reads it (latin-1)."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class HotPath:
    """ASGI middleware: answers the success case of the hottest read, defers the rest."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            query, path = scope["query_string"], get_route_path(scope)
            if path == "/health" and not query and "app" in scope:
                known = cache_of(scope["app"]).cached()
                if known is not None:
                    await JSONResponse(known[0], known[1])(scope, receive, send)
                    return
            m = _ELIGIBILITY.fullmatch(path)
            if m is not None and query in (b"", b"strict=true"):
                body = await self._eligibility(scope, int(m.group(1)), m.group(2), bool(query))
                if body is not None:
                    await Response(body, media_type="application/json")(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _eligibility(
        scope: dict[str, Any], perk_id: int, address: str, strict: bool
    ) -> bytes | None:
        """The route's 200 body, or None to let the route answer (whatever it answers)."""
        if perk_id > _MAX_PERK_ID:
            return None
        app = scope.get("app")
        state: AppState | None = getattr(getattr(app, "state", None), "api", None)
        if state is None or state.reader is None:
            return None
        try:
            kind, value = credential(_header(scope, b"x-api-key"), _header(scope, b"authorization"))
            principal = principal_at_hand(kind, value)
            if principal is None:
                return None
            if strict:  # the chain: the head on the event loop, a new head's reads in a thread
                return await strict_answer_async(state, principal, perk_id, address)
            return answer_from_reader(state, principal, perk_id, address)
        except Exception:  # the route answers it again, and decides what to say
            return None
