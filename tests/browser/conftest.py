"""Browser fixtures: the API with the insights fixture on SQLite, served by uvicorn on a free
port, and headless system Chromium driven by Playwright (nothing loads from the internet)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from api.deps import ApiOptions
from api.main import serve
from loyalty_ledger.store.offchain import PerkRow, table

from ..insights.conftest import build_app, make_keys, make_settings
from ..insights.fixture_data import database, seed

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(autouse=True)
def _chain_isolation() -> Iterator[None]:
    yield


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    url: str
    keys: dict[str, str]
    engine: Engine


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("browser")
    with database("sqlite", tmp) as (url, engine):
        seed(engine)
        with engine.begin() as conn:
            conn.execute(
                insert(table(PerkRow)).values(
                    brand_id="acme",
                    name="Free latte",
                    description="one free latte",
                    min_points=20,
                    point_cost=20,
                    active=True,
                    redeemed_count=0,
                    active_pass_required=False,
                    created_at=int(time.time()),
                )
            )
        port = free_port()
        settings = make_settings(url, tmp).model_copy(update={"api_port": port})
        options = ApiOptions(siwe_domain=f"127.0.0.1:{port}", siwe_uri=f"http://127.0.0.1:{port}")
        app = build_app(settings, engine, options)
        stop, ready = threading.Event(), threading.Event()
        thread = serve(settings, stop, app=app, ready=ready)
        if not ready.wait(20):
            pytest.fail("the API did not start")
        try:
            yield Site(f"http://127.0.0.1:{port}", make_keys(engine), engine)
        finally:
            stop.set()
            thread.join(10)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield ctx
        finally:
            ctx.close()
