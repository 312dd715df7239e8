"""The API app plus the framework's floor: a bare FastAPI route of eligibility's shape.

`bench_api` serves this factory exactly as `loyalty api serve` serves the API (same server,
workers, middleware and routing table), so the floor and the real route are measured in the
same run by the same load generator. The floor route sits in the perks router right before
eligibility, so both pay the same routing; it reads nothing, checks no key and returns a dict
of EligibilityOut's shape (FastAPI serialises it).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.main import create_app
from api.routers import perks
from loyalty_ledger.config import get_settings

FLOOR = "/floor/perks/{perk_id}/eligibility/{address}"


async def floor(perk_id: int, address: str) -> dict[str, Any]:
    return {
        "perk_id": perk_id,
        "address": address,
        "eligible": False,
        "reasons": [{"code": "no_pass", "detail": "holds no membership pass"}],
        "as_of_block": 1,
        "strict": False,
    }


def add_floor() -> None:
    """Put the floor route into the perks router, right before eligibility (once)."""
    routes = perks.router.routes
    if any(getattr(r, "path", None) == FLOOR for r in routes):
        return
    perks.router.add_api_route(FLOOR, floor, methods=["GET"], include_in_schema=False)
    at = next(
        i
        for i, r in enumerate(routes)
        if isinstance(r, APIRoute) and r.path == "/perks/{perk_id}/eligibility/{address}"
    )
    routes.insert(at, routes.pop())
    mark = getattr(perks.router, "_mark_routes_changed", None)
    if mark is not None:
        mark()


def create() -> FastAPI:
    add_floor()
    return create_app(get_settings())
