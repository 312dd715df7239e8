"""/docs (Swagger UI) renders every operation from files the API serves itself: no request
leaves localhost, and the page is not blank with the network cut off."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.deps import ApiOptions
from api.main import create_app, serve
from loyalty_ledger.store import make_engine, migrate

from ..insights.conftest import make_settings
from .conftest import ARTIFACTS, Site, free_port

LOCAL = ("http://127.0.0.1", "data:", "blob:")


@pytest.fixture(scope="module")
def api_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The real app (`create_app`, every router) on a free port; /docs needs no node."""
    tmp = tmp_path_factory.mktemp("docs")
    url = f"sqlite:///{tmp / 'docs.db'}"
    engine = make_engine(url)
    migrate(engine)
    port = free_port()
    settings = make_settings(url, tmp).model_copy(update={"api_port": port})
    authority = f"127.0.0.1:{port}"
    app = create_app(settings, options=ApiOptions(authority, f"http://{authority}"), engine=engine)
    stop, ready = threading.Event(), threading.Event()
    thread = serve(settings, stop, app=app, ready=ready)
    if not ready.wait(20):
        pytest.fail("the API did not start")
    try:
        yield Site(f"http://{authority}", {}, engine)
    finally:
        stop.set()
        thread.join(10)
        engine.dispose()


def test_docs_render_offline(api_site: Site, browser: Any) -> None:
    site = api_site
    spec = httpx.get(f"{site.url}/openapi.json").json()
    operations = sum(
        1
        for item in spec["paths"].values()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )
    page = browser.new_page()
    external: list[str] = []
    errors: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(LOCAL):
            route.continue_()
        else:  # as if offline: nothing beyond this machine answers
            external.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site.url}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".swagger-ui .opblock").count() == operations > 40
    assert "Loyalty Ledger API" in page.inner_text(".swagger-ui .info")
    # an operation opens and shows its responses, the error body among them
    page.locator(".opblock-summary-path", has_text="/perks/{perk_id}/redeem").first.click()
    page.wait_for_selector(".opblock.is-open .responses-table", timeout=10_000)
    assert "409" in page.inner_text(".opblock.is-open .responses-table")
    page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=False)
    assert external == [] and errors == [], (external, errors)
    page.close()


def test_docs_assets_are_served_with_their_licence(api_site: Site) -> None:
    site = api_site
    html = httpx.get(f"{site.url}/docs").text
    assert "cdn.jsdelivr.net" not in html and "fastapi.tiangolo.com" not in html
    base = f"{site.url}/static/vendor/swagger-ui"
    for name, kind in (
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
    ):
        r = httpx.get(f"{base}/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind), name
        assert f"{base}/{name}".removeprefix(site.url) in html or name == "favicon-32x32.png"
    assert "Apache License" in httpx.get(f"{base}/LICENSE").text
    assert httpx.get(f"{site.url}/redoc").status_code == 404  # ReDoc would need a CDN
