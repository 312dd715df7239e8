"""Browser fixtures: the API with the insights fixture on SQLite, served by uvicorn on a free
port, and headless system Chromium driven by Playwright (nothing loads from the internet)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from api.deps import ApiOptions
from api.main import serve
from loyalty_ledger.store.offchain import PerkRow, table

from ..insights.conftest import build_app, make_keys, make_settings
from ..insights.fixture_data import database, seed
from ..pg import pg_available
from .chromium import CHROMIUM, chromium_context

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


@contextmanager
def serve_site(
    tmp: Path, prepare: Callable[[Engine], None] | None = None, kind: str = "sqlite"
) -> Iterator[Site]:
    """The API over the insights fixture (plus a perk, plus `prepare`) on a free port, on
    SQLite or PostgreSQL (`kind`)."""
    with database(kind, tmp) as (url, engine):
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
        if prepare is not None:
            prepare(engine)
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
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(tmp_path_factory.mktemp("browser")) as s:
        yield s


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def dashboard_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The site on SQLite (the `site` itself) and on PostgreSQL, for the dashboard."""
    if request.param == "sqlite":
        yield request.getfixturevalue("site")
        return
    if not pg_available():
        pytest.skip("PostgreSQL variant skipped: no server at 127.0.0.1:5432")
    with serve_site(tmp_path_factory.mktemp("browser-pg"), kind="postgresql") as s:
        yield s


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A browser context (`.new_page()`); its teardown is bounded and never fails a run."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as chromium:
        yield chromium.context
