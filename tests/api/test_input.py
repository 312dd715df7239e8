"""Bad input never gives a 500: malformed JSON, huge bodies, wrong types, unknown addresses,
node down, database down — each with the one error body and the right status."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.deps import ApiOptions
from api.main import create_app
from loyalty_ledger.chain.anvil import free_port
from loyalty_ledger.config import Settings
from loyalty_ledger.store import make_engine

from .conftest import DOMAIN, URI, Env

pytestmark = pytest.mark.chain
ISSUER = "acme:issuer"
PURCHASE = "/brands/acme/earn/purchase"
ADDR = "0x" + "ab" * 20


def _err(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "detail"} and body["error"] == code, body


def test_malformed_json(env: Env) -> None:
    r = env.client.post(
        PURCHASE,
        content=b'{"member": ',
        headers={**env.h(ISSUER), "Content-Type": "application/json"},
    )
    _err(r, 400, "invalid_json")


def test_huge_bodies(env: Env) -> None:
    big = b'{"x": "' + b"a" * 70_000 + b'"}'
    r = env.client.post(
        PURCHASE, content=big, headers={**env.h(ISSUER), "Content-Type": "application/json"}
    )
    _err(r, 413, "payload_too_large")

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"a" * 8192

    r = env.client.post(
        PURCHASE, content=chunks(), headers={**env.h(ISSUER), "Content-Type": "application/json"}
    )
    _err(r, 413, "payload_too_large")


@pytest.mark.parametrize(
    "patch",
    [
        {"amount": "250000"},
        {"amount": 2.5},
        {"amount": -1},
        {"amount": True},
        {"items": "3"},
        {"member": 12},
        {"order_id": ""},
        {"extra": 1},
        {"currency": None},
    ],
)
def test_wrong_types(env: Env, patch: dict) -> None:
    body = {
        "member": ADDR,
        "order_id": "t-1",
        "amount": 100,
        "currency": "VND",
        "items": 1,
        **patch,
    }
    _err(env.client.post(PURCHASE, json=body, headers=env.h(ISSUER)), 422, "validation_error")


def test_body_not_an_object(env: Env) -> None:
    _err(env.client.post(PURCHASE, json=[1, 2], headers=env.h(ISSUER)), 422, "validation_error")


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/customers/0x1234", 422, "invalid_address"),
        ("/customers/not-an-address", 422, "invalid_address"),
        ("/customers/0xAbcdefabcdefabcdefabcdefabcdefabcdefabcd", 422, "invalid_address"),
        ("/brands/nosuch/ledger", 404, "unknown_program"),
        ("/perks/999999", 404, "perk_not_found"),
        ("/perks/abc", 422, "validation_error"),
        ("/perks/99999999999999999999999", 422, "validation_error"),
        ("/perks/-1/eligibility/" + ADDR, 422, "validation_error"),
        ("/brands/acme/ledger?limit=100000", 422, "validation_error"),
        ("/brands/acme/ledger?before=99999999999999999999999", 422, "validation_error"),
        ("/nowhere", 404, "not_found"),
    ],
)
def test_unknown_things(env: Env, url: str, status: int, code: str) -> None:
    _err(env.client.get(url, headers=env.h("operator")), status, code)


def test_unknown_but_valid_address_reads_empty(env: Env) -> None:
    r = env.client.get(f"/customers/{ADDR}", headers=env.h("operator"))
    assert r.status_code == 200 and r.json()["registered"] is False


def test_earn_to_unknown_address_is_409(env: Env) -> None:
    body = {
        "member": ADDR,
        "order_id": "unknown-addr",
        "amount": 50_000,
        "currency": "VND",
        "items": 1,
    }
    _err(env.client.post(PURCHASE, json=body, headers=env.h(ISSUER)), 409, "not_a_member")
    body["currency"] = "USD"
    _err(env.client.post(PURCHASE, json=body, headers=env.h(ISSUER)), 422, "invalid_input")


def test_node_down_is_503(env: Env, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = env.settings.model_copy(update={"rpc_url": dead, "rpc_timeout": 1.0})
    client = TestClient(
        create_app(settings, options=ApiOptions(DOMAIN, URI), engine=env.state.engine)
    )
    perk = env.client.post(
        "/brands/acme/perks", json={"name": f"nd-{free_port()}"}, headers=env.h("acme:perk_manager")
    ).json()
    url = f"/perks/{perk['id']}/eligibility/{ADDR}"
    # the mirror still answers; strict mode and writes need the node
    assert client.get(url, headers=env.h("operator")).status_code == 200
    _err(client.get(url + "?strict=true", headers=env.h("operator")), 503, "node_unreachable")
    r = client.post(
        PURCHASE,
        json={"member": ADDR, "order_id": "nd", "amount": 10**6, "currency": "VND", "items": 1},
        headers=env.h(ISSUER),
    )
    _err(r, 503, "node_unreachable")
    h = client.get("/health")
    assert h.status_code == 503 and h.json()["error"] == "unavailable"
    assert set(h.json()["down"]) == {"node"} and h.json()["database"] == "ok"
    assert h.json()["down"]["node"]["since"].endswith("Z") and "node" in h.json()["detail"]


def test_database_down_is_503(env: Env, tmp_path: Path) -> None:
    settings = Settings(
        rpc_url=env.settings.rpc_url,
        deployment_file=env.settings.deployment_file,
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x",
    )
    engine = make_engine(settings.database_url or "", connect_args={"connect_timeout": 1})
    client = TestClient(create_app(settings, options=ApiOptions(DOMAIN, URI), engine=engine))
    _err(
        client.get("/brands/acme/ledger", headers={"X-API-Key": "llk_abc_def"}),
        503,
        "database_unavailable",
    )
    _err(client.get("/auth/nonce"), 503, "database_unavailable")
    h = client.get("/health")
    assert h.status_code == 503 and set(h.json()["down"]) == {"database"}
    assert h.json()["chain"] == "ok" and "database is unavailable since" in h.json()["detail"]
    assert client.get("/wallet").status_code == 200  # a page needs no database
