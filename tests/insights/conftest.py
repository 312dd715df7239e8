"""Insights fixtures: the hand-computed data set on SQLite and PostgreSQL, and the API on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api import errors
from api.deps import ApiOptions, AppState
from api.routers import auth as auth_router
from api.routers import customers, expiry, insights, ledger, members, pages, profiles, signin
from loyalty_ledger import auth
from loyalty_ledger.config import Settings

from ..pg import pg_available
from .fixture_data import DEPLOYMENT, database, seed
from .lifecycle_data import seed_lifecycle


@pytest.fixture(autouse=True)
def _chain_isolation() -> Iterator[None]:
    yield


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine]]:
    """(database URL, engine) holding the fixture data set."""
    if request.param == "postgresql" and not pg_available():
        pytest.skip("PostgreSQL variant skipped: no server at 127.0.0.1:5432")
    with database(request.param, tmp_path_factory.mktemp(request.param)) as (url, engine):
        seed(engine)
        seed_lifecycle(engine)
        yield url, engine


def build_app(settings: Settings, engine: Engine, options: ApiOptions) -> FastAPI:
    """The routers this work owns plus the ones the pages call (main.py wires them for real)."""
    app = FastAPI()
    app.state.api = AppState(settings=settings, engine=engine, options=options)
    errors.install(app)
    routers = (auth_router, signin, customers, expiry, ledger, insights, pages, profiles, members)
    for r in routers:
        app.include_router(r.router)
    return app


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    engine: Engine

    def h(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who]}


def make_settings(url: str, tmp: Path) -> Settings:
    dep = tmp / "deployment.json"
    DEPLOYMENT.save(dep)
    return Settings(
        rpc_url="http://127.0.0.1:9",
        database_url=url,
        deployment_file=dep,
        data_dir=tmp,
    )


def make_keys(engine: Engine) -> dict[str, str]:
    keys = {
        "operator": auth.create_api_key(engine=engine, kind="operator")[1],
        "auditor": auth.create_api_key(engine=engine, kind="auditor")[1],
    }
    for bid in ("acme", "beta"):
        for role in ("viewer", "issuer"):
            keys[f"{bid}:{role}"] = auth.create_api_key(
                engine=engine, kind="brand", brand_id=bid, roles=[role]
            )[1]
    return keys


@pytest.fixture(scope="session")
def api(seeded: tuple[str, Engine], tmp_path_factory: pytest.TempPathFactory) -> Api:
    url, engine = seeded
    settings = make_settings(url, tmp_path_factory.mktemp("api"))
    app = build_app(
        settings, engine, ApiOptions(siwe_domain="testserver", siwe_uri="http://testserver")
    )
    return Api(TestClient(app), make_keys(engine), engine)
