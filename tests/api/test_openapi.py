"""The OpenAPI document says what the API really does: the one error body, every status a route
can answer, the credentials as security schemes, addresses and dates with their formats."""

from __future__ import annotations

from typing import Any

import pytest

from api.deps import ApiOptions
from api.main import create_app
from loyalty_ledger.config import Settings
from loyalty_ledger.store import make_engine

ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    settings = Settings(rpc_url="http://127.0.0.1:9", database_url="sqlite://")
    app = create_app(settings, options=ApiOptions("x", "http://x"), engine=make_engine("sqlite://"))
    return app.openapi()


def _ops(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in spec["paths"].items() for m, op in item.items()]


def test_every_error_response_is_the_error_body(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["Error"]["required"] == ["error", "detail"]
    for method, path, op in _ops(spec):
        errors = {c: r for c, r in op["responses"].items() if int(c) >= 400}
        assert "503" in errors, (method, path)
        for code, resp in errors.items():
            assert resp["content"]["application/json"]["schema"] == ERROR_REF, (path, code)


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("get", "/health", {"503"}),
        ("post", "/auth/verify", {"400", "401", "413", "422", "503"}),
        ("get", "/perks/{perk_id}", {"401", "403", "404", "422", "503"}),
        (
            "post",
            "/perks/{perk_id}/redeem",
            {"400", "401", "403", "404", "409", "413", "422", "503"},
        ),
        (
            "post",
            "/brands/{brand_id}/earn/purchase",
            {"400", "401", "403", "404", "409", "413", "422", "503"},
        ),
        ("get", "/exchanges", {"401", "503"}),
        ("get", "/brands/{brand_id}/insights/clv", {"401", "403", "404", "422", "503"}),
    ],
)
def test_statuses_per_route(spec: dict[str, Any], method: str, path: str, codes: set[str]) -> None:
    got = {c for c in spec["paths"][path][method]["responses"] if int(c) >= 400}
    assert got == codes


def test_credentials_are_security_schemes_not_parameters(spec: dict[str, Any]) -> None:
    assert set(spec["components"]["securitySchemes"]) == {"apiKey", "session"}
    for _method, path, op in _ops(spec):
        names = {p["name"].lower() for p in op.get("parameters", [])}
        assert not names & {"authorization", "x-api-key"}, path
    assert spec["paths"]["/perks/{perk_id}"]["get"]["security"] == [
        {"apiKey": []},
        {"session": []},
    ]
    assert {} in spec["paths"]["/exchanges"]["get"]["security"]  # anonymous too
    assert "security" not in spec["paths"]["/auth/nonce"]["get"]


def test_addresses_and_dates_have_formats(spec: dict[str, Any]) -> None:
    def param(path: str, name: str, method: str = "get") -> dict[str, Any]:
        [p] = [p for p in spec["paths"][path][method]["parameters"] if p["name"] == name]
        schema = p["schema"]
        return next(b for b in schema.get("anyOf", [schema]) if b.get("type") == "string")

    pattern = "^0x[0-9a-fA-F]{40}$"
    assert param("/customers/{address}", "address")["pattern"] == pattern
    assert param("/brands/{brand_id}/passes/{member}", "member", "delete")["pattern"] == pattern
    assert param("/brands/{brand_id}/expiring", "after")["pattern"] == pattern
    assert param("/brands/{brand_id}/insights/nps", "from")["format"] == "date"
    assert param("/brands/{brand_id}/insights/nps", "to")["format"] == "date"
    purchase = spec["components"]["schemas"]["PurchaseIn"]["properties"]
    # an address, or the member id of a member card
    assert purchase["member"]["pattern"] == "^(0x[0-9a-fA-F]{40}|[Mm][0-9A-Za-z]{8})$"
    assert purchase["ordered_at"]["anyOf"][0]["format"] == "date-time"
