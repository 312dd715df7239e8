"""Member-relationship fixtures: a migrated database on SQLite and on a fresh PostgreSQL schema."""

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
from api.routers import crm, pages, perks
from api.routers import keys as keys_router
from api.routers import profiles as profiles_router
from loyalty_ledger import auth
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.config import Settings
from loyalty_ledger.store import make_engine, migrate

from ..pg import fresh_schema


@pytest.fixture(autouse=True)
def _chain_isolation() -> Iterator[None]:
    """No chain here: override tests/conftest.py's snapshot isolation."""
    yield


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    with fresh_schema("crm") as url:
        eng = make_engine(url)
        migrate(eng)
        try:
            yield eng
        finally:
            eng.dispose()


PROGRAM = Program("acme", "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20, 0, "Acme")
BETA = Program("beta", "0x" + "44" * 20, "0x" + "55" * 20, "0x" + "66" * 20, 0, "Beta")
DEPLOYMENT = Deployment(
    chain_id=31337,
    registry="0x" + "c1" * 20,
    forwarder="0x" + "c2" * 20,
    start_block=0,
    programs={"acme": PROGRAM, "beta": BETA},
)


@dataclass
class Api:
    client: TestClient
    engine: Engine
    settings: Settings
    keys: dict[str, str]

    def h(self, who: str) -> dict[str, str]:
        """Headers of a key ('acme:viewer', 'operator') or a member's session (an address)."""
        if who.startswith("0x"):
            token = auth.new_session(engine=self.engine, address=who).token
            return {"Authorization": f"Bearer {token}"}
        return {"X-API-Key": self.keys[who]}


@pytest.fixture
def api(db: Engine, tmp_path: Path) -> Iterator[Api]:
    """The console's routers on the migrated database, with keys for each role."""
    dep = tmp_path / "deployment.json"
    DEPLOYMENT.save(dep)
    settings = Settings(
        rpc_url="http://127.0.0.1:9", deployment_file=dep, data_dir=tmp_path,
        public_url="http://shop.example",
    )  # fmt: skip
    app = FastAPI()
    state = AppState(
        settings=settings, engine=db, options=ApiOptions("testserver", "http://testserver")
    )
    app.state.api = state
    errors.install(app)
    for r in (crm, keys_router, profiles_router, perks, pages):
        app.include_router(r.router)
    keys = {"operator": auth.create_api_key(engine=db, kind="operator")[1]}
    for bid in ("acme", "beta"):
        for role in ("viewer", "perk_manager"):
            keys[f"{bid}:{role}"] = auth.create_api_key(
                engine=db, kind="brand", brand_id=bid, roles=[role]
            )[1]
    with TestClient(app) as client:
        yield Api(client, db, settings, keys)
    state.stop.set()
