"""The earn hot path (`api/earnpath.py`) answers exactly what the route answers, and leaves every
refusal to the route: a new order, a repeat, an order id reused with another body, a frozen
member, an unknown brand, bad JSON, a key without the issuer role, a revoked key (revoked here:
refused at once; revoked by another process: within the key cache's TTL) — SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api import earnpath
from api.deps import ApiOptions
from api.main import create_app
from loyalty_ledger import auth, ledger
from loyalty_ledger.auth import KEY_CACHE_TTL, api_keys
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.store import make_engine

from ..pg import fresh_schema
from .conftest import MEMBERS, app_settings

PATH = "/brands/acme/earn/purchase"


@pytest.fixture(params=["sqlite", "postgresql"])
def app_env(request: pytest.FixtureRequest, node: Anvil, net: Any, tmp_path: Path) -> Iterator[Any]:
    """The API with the outbox on and no submitter (earns stay queued), and its fast calls."""

    def build(url: str) -> Any:
        settings = app_settings(node, net, tmp_path, url, outbox=True, submitter=False)
        app = create_app(settings, options=ApiOptions(siwe_domain="t", siwe_uri="http://t"))
        return TestClient(app), app.state.api

    calls: list[Any] = []
    real = earnpath.earn_purchase

    def counted(*a: Any) -> Any:
        calls.append(a)
        return real(*a)

    earnpath.earn_purchase = counted  # type: ignore[assignment]
    try:
        if request.param == "sqlite":
            yield (*build(f"sqlite:///{tmp_path / 'api.db'}"), calls)
            return
        with fresh_schema("earnpath") as url:
            yield (*build(url), calls)
    finally:
        earnpath.earn_purchase = real  # type: ignore[assignment]


def _key(state: Any, *roles: str, kind: str = "brand") -> tuple[str, dict[str, str]]:
    brand = {"brand_id": "acme", "roles": roles} if kind == "brand" else {}
    kid, key = auth.create_api_key(engine=state.engine, kind=kind, **brand)  # type: ignore[arg-type]
    return kid, {"X-API-Key": key}


def _order(i: int | str, member: int = 0, amount: int = 20_000) -> dict[str, Any]:
    return {"member": MEMBERS[member].address, "order_id": f"ep-{i}", "amount": amount,
            "currency": "VND", "items": 1}  # fmt: skip


def _both(client: TestClient, calls: list[Any], path: str, h: dict[str, str], **kw: Any) -> Any:
    """The same request answered by the route (the key not cached: it must be read), then by
    the hot path when it takes it; returns both answers and whether the hot path answered."""
    api_keys._key_cache.clear()
    route = client.post(path, headers=h, **kw)
    n = len(calls)
    fast = client.post(path, headers=h, **kw)
    return route, fast, len(calls) > n


def _same(route: Any, fast: Any) -> None:
    assert (fast.status_code, fast.json(), fast.headers.get("location")) == (
        route.status_code,
        route.json(),
        route.headers.get("location"),
    )


def test_the_hot_path_answers_as_the_route(
    app_env: Any, net: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state, calls = app_env
    monkeypatch.setattr(api_keys, "KEY_CACHE_TTL", 120.0)  # a slow first earn keeps it cached
    _kid, h = _key(state, "issuer")
    tag = state.engine.dialect.name
    # a new order: the route, then (the key now cached) the hot path, for another order
    api_keys._key_cache.clear()
    route = client.post(PATH, json=_order(f"{tag}-1"), headers=h)
    fast = client.post(PATH, json=_order(f"{tag}-2"), headers=h)
    assert len(calls) == 1 and route.status_code == fast.status_code == 202, fast.text
    a, b = route.json(), fast.json()
    assert a.keys() == b.keys() and b["status"] == "pending" and b["duplicate"] is False
    assert fast.headers["location"] == f"/operations/{b['operation']['id']}"
    assert {k: a[k] for k in ("member", "points", "reason")} == {
        k: b[k] for k in ("member", "points", "reason")
    }
    # the same order again: a duplicate, the same answer either way
    route, fast, hot = _both(client, calls, PATH, h, json=_order(f"{tag}-2"))
    assert hot and fast.json()["duplicate"] is True
    _same(route, fast)
    # the order id reused with another amount: refused the same way either way
    route, fast, hot = _both(client, calls, PATH, h, json=_order(f"{tag}-2", amount=90_000))
    assert hot and 400 <= fast.status_code < 500
    _same(route, fast)
    # a member the function refuses (not an address): the app's own handler answers
    bad = {**_order(f"{tag}-m"), "member": "0x12"}
    route, fast, hot = _both(client, calls, PATH, h, json=bad)
    assert hot and fast.status_code == 422
    _same(route, fast)
    # a frozen member: the route's answer
    _w3, dep, _ = net
    frozen = MEMBERS[19].address
    ledger.freeze_member(sender=state.sender("operator"), deployment=dep, member=frozen)
    try:
        api_keys._key_cache.clear()
        route = client.post(PATH, json=_order(f"{tag}-f1", member=19), headers=h)
        fast = client.post(PATH, json=_order(f"{tag}-f2", member=19), headers=h)
        assert fast.status_code == route.status_code
        assert fast.json().get("error") == route.json().get("error")
    finally:
        ledger.unfreeze_member(sender=state.sender("operator"), deployment=dep, member=frozen)


def test_refusals_are_the_routes(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, state, calls = app_env
    monkeypatch.setattr(api_keys, "KEY_CACHE_TTL", 120.0)
    _kid, h = _key(state, "issuer")
    _kid, op = _key(state, kind="operator")
    _kid, viewer = _key(state, "viewer")
    tag = state.engine.dialect.name
    n = len(calls)
    cases = [
        ("/brands/nope/earn/purchase", op, {"json": _order(f"{tag}-u")}, 404),
        ("/brands/nope/earn/purchase", h, {"json": _order(f"{tag}-u")}, 403),
        (PATH, viewer, {"json": _order(f"{tag}-v")}, 403),
        (PATH, h, {"content": b'{"member": ', "headers": {"content-type": "application/json"}},
         400),
        (PATH, h, {"json": {**_order(f"{tag}-b"), "amount": -1}}, 422),
        (PATH, h, {"json": {**_order(f"{tag}-b"), "amount": "5"}}, 422),
        (PATH, h, {"json": {**_order(f"{tag}-b"), "extra": 1}}, 422),
        (PATH, {"X-API-Key": "llk_nope_nope"}, {"json": _order(f"{tag}-k")}, 401),
    ]  # fmt: skip
    for path, who, kw, status in cases:
        extra = kw.pop("headers", {})
        route, fast, _hot = _both(client, calls, path, {**who, **extra}, **kw)
        assert route.status_code == status, (path, kw, route.text)
        _same(route, fast)
    assert len(calls) == n  # none of them reached the route's function by the hot path


def test_a_revoked_key_is_refused(app_env: Any) -> None:
    client, state, _calls = app_env
    tag = state.engine.dialect.name
    kid, h = _key(state, "issuer")
    assert client.post(PATH, json=_order(f"{tag}-r0"), headers=h).status_code == 202
    assert client.post(PATH, json=_order(f"{tag}-r1"), headers=h).status_code == 202
    auth.revoke_api_key(engine=state.engine, key_id=kid)  # in this process: at once
    r = client.post(PATH, json=_order(f"{tag}-r2"), headers=h)
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated", r.text
    # revoked by another process (its own engine; this process's cache is not told)
    kid, h = _key(state, "issuer")
    assert client.post(PATH, json=_order(f"{tag}-r3"), headers=h).status_code == 202
    other = make_engine(state.engine.url.render_as_string(hide_password=False))
    with other.begin() as c:
        c.execute(text("UPDATE api_key SET revoked_at = 1 WHERE key_id = :k"), {"k": kid})
    other.dispose()
    revoked_at, i = time.monotonic(), 0
    while (r := client.post(PATH, json=_order(f"{tag}-r4-{i}"), headers=h)).status_code == 202:
        assert time.monotonic() - revoked_at < KEY_CACHE_TTL + 0.5
        i += 1
        time.sleep(0.05)
    assert r.status_code == 401, r.text
