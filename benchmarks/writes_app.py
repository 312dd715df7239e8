"""The API app plus the framework's floor for writes: a bare FastAPI POST route of the earn
route's shape.

`bench_writes` serves this factory with uvicorn exactly as `loyalty api serve --workers 2`
serves the API, so the floor and the real earn route are measured in the same run by the same
load generator. The floor route sits in the brands router right before the earn route; it
parses the same body (PurchaseIn), checks no key, writes nothing and returns an EarnOut-shaped
dict.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.main import create_app
from api.routers import brands
from api.schemas import PurchaseIn
from loyalty_ledger.config import get_settings

FLOOR = "/floor/earn/purchase"  # under the brands router's prefix, like the earn route
EARN = "/brands/{brand_id}/earn/purchase"


async def floor(brand_id: str, body: PurchaseIn) -> dict[str, Any]:
    return {
        "id": 1,
        "brand_id": brand_id,
        "member": body.member,
        "reason": "purchase",
        "points": body.amount // 10_000,
        "order_id": body.order_id,
        "order_amount": body.amount,
        "currency": body.currency,
        "items_count": body.items,
        "action_id": None,
        "status": "pending",
        "tx_hash": None,
        "block_number": None,
        "duplicate": False,
    }


def add_floor() -> None:
    """Put the floor route into the brands router, right before the earn route (once)."""
    routes = brands.router.routes
    if any(getattr(r, "path", "").endswith(FLOOR) for r in routes):
        return
    brands.router.add_api_route(FLOOR, floor, methods=["POST"], include_in_schema=False)
    at = next(i for i, r in enumerate(routes) if isinstance(r, APIRoute) and r.path == EARN)
    routes.insert(at, routes.pop())
    mark = getattr(brands.router, "_mark_routes_changed", None)
    if mark is not None:
        mark()


def create() -> FastAPI:
    add_floor()
    return create_app(get_settings())
