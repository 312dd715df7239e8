"""The OpenAPI document as the API really behaves: the one error body, every status a route can
answer, the two ways to authenticate, and address and date parameters with their formats.

FastAPI documents only 200 and its own 422 shape. The statuses here follow from what a route
depends on, by the rules of `errors.STATUS` and the middleware:

| when the route ...                                 | it may answer                        |
|----------------------------------------------------|--------------------------------------|
| always (database, node or deployment unavailable)  | 503                                  |
| takes parameters or a body                         | 422 (validation, invalid input)      |
| takes a JSON body                                  | 400 (not JSON, bad signature), 413   |
| needs a caller                                     | 401, 403                             |
| accepts a caller (optional)                        | 401 (bad credentials)                |
| names a thing (path parameter, `brand` query)      | 404                                  |
| writes (POST, PUT, PATCH, DELETE, but not sign-in  | 409 (the ledger's state refuses it)  |
| or eligibility), or reads the exchange's live state|                                      |
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from .deps import current_principal, optional_principal
from .schemas import ADDRESS_PATTERN

ERROR_BODY = {
    "title": "Error",
    "type": "object",
    "description": "Every error: a stable code and a sentence; some add fields (e.g. `reasons`).",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. `not_eligible`"},
        "detail": {"type": "string", "description": "what is wrong, for people"},
    },
    "additionalProperties": True,
}
DESCRIPTIONS = {
    400: "Not JSON, a malformed sign-in message, or a bad or expired signature",
    401: "No credentials, or invalid ones",
    403: "The caller may not do this",
    404: "No such brand, perk, exchange or page",
    409: "The ledger's state refuses it (not a member, not enough points, idempotency conflict …)",
    413: "The request body is too large",
    422: "Invalid input (types, ranges, addresses, dates)",
    503: "The node, the database or the deployment is unavailable",
}
SECURITY_SCHEMES = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "session": {"type": "http", "scheme": "bearer", "description": "a SIWE session token"},
}
AUTH_HEADERS = {"authorization", "x-api-key"}
ADDRESS_PARAMS = {"address", "member", "after"}
DATE_PARAMS = {"from", "to"}
LIVE_EXCHANGE_READS = {"/exchanges/{exchange_id}/quote"}
READS_BY_POST = {"/auth/verify", "/perks/{perk_id}/eligibility"}  # POST, but nothing is written


def _calls(dependant: Dependant) -> set[Any]:
    out = {dependant.call}
    for dep in dependant.dependencies:
        out |= _calls(dep)
    return out


def statuses(route: APIRoute, path: str, op: dict[str, Any]) -> set[int]:
    """The error statuses `route` can answer (see the module's table)."""
    calls = _calls(route.dependant)
    params = [p for p in op.get("parameters", []) if p["name"].lower() not in AUTH_HEADERS]
    body = "requestBody" in op
    codes = {503}
    if params or body:
        codes.add(422)
    if body:
        codes |= {400, 413}
    if current_principal in calls:
        codes |= {401, 403}
    elif optional_principal in calls or path == "/auth/verify":
        codes.add(401)
    if any(p["in"] == "path" or p["name"] == "brand" for p in params):
        codes.add(404)
    writes = (route.methods or set()) & {
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
    } and path not in READS_BY_POST
    if writes or path in LIVE_EXCHANGE_READS:
        codes.add(409)
    return codes


def _parameters(op: dict[str, Any]) -> list[dict[str, Any]]:
    """Drop the credential headers (they are security schemes) and give formats to the rest."""
    out = []
    for p in op.get("parameters", []):
        if p["in"] == "header" and p["name"].lower() in AUTH_HEADERS:
            continue
        schema = p.setdefault("schema", {})
        if p["name"] in ADDRESS_PARAMS and p["in"] in ("path", "query"):
            _string_with(schema, pattern=ADDRESS_PATTERN)
        elif p["name"] in DATE_PARAMS and p["in"] == "query":
            _string_with(schema, format="date")
        out.append(p)
    return out


def _string_with(schema: dict[str, Any], **extra: str) -> None:
    """Add `extra` to the string branch of a (possibly optional) string schema."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch.update(extra)


def _error_response(code: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def build(app: FastAPI, routers: list[APIRouter]) -> dict[str, Any]:
    """The app's OpenAPI document, with the real error body and statuses (cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    routes = {
        (r.path_format, m.lower()): r
        for router in routers
        for r in router.routes
        if isinstance(r, APIRoute) and r.include_in_schema
        for m in (r.methods or set())
    }
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            route = routes[(path, method)]
            had_auth = any(
                p["in"] == "header" and p["name"].lower() in AUTH_HEADERS
                for p in op.get("parameters", [])
            )
            op["parameters"] = _parameters(op)
            if not op["parameters"]:
                del op["parameters"]
            responses = op.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own shape, never sent
            for code in sorted(statuses(route, path, op)):
                responses[str(code)] = _error_response(code)
            for code, resp in responses.items():  # the route's own error statuses (429 …)
                if int(code) >= 400:
                    resp["content"] = _error_response(503)["content"]
            if had_auth:
                op["security"] = [{"apiKey": []}, {"session": []}]
                if optional_principal in _calls(route.dependant):
                    op["security"].append({})
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Error"] = ERROR_BODY
    components["securitySchemes"] = SECURITY_SCHEMES
    app.openapi_schema = spec
    return spec


def install(app: FastAPI, routers: list[APIRouter]) -> None:
    """Serve `build`'s document; `routers` are the ones the app includes (no prefixes)."""
    app.openapi = lambda: build(app, routers)  # type: ignore[method-assign]
