"""Fixtures of the indexer tests: a fresh anvil per test, SQLite and PostgreSQL stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.indexer import Indexer, IndexerOptions
from loyalty_ledger.store import make_engine

from ..pg import fresh_schema
from .netutil import Net, deploy_net


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mirror.db'}"
        return
    with fresh_schema("idx") as url:
        yield url


@pytest.fixture(autouse=True)
def _chain_isolation() -> Iterator[None]:
    """Override of tests/conftest.py's snapshot isolation: every test here has its own anvil."""
    yield


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    node = Anvil(port=0)
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def w3(anvil: Anvil) -> Web3:
    return Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))


@pytest.fixture
def net(w3: Web3) -> Net:
    return deploy_net(w3)


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def make_indexer(net: Net, anvil: Anvil, db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Build an Indexer on this test's node and database (options overridable)."""

    def build(**kw):  # type: ignore[no-untyped-def]
        opts = dict(
            rpc_url=anvil.url,
            database_url=db_url,
            rpc_timeout=2.0,
            progress=False,
            poll_interval=0.02,
        )
        opts.update(kw)
        o = IndexerOptions.from_deployment(
            net.deployment_file(tmp_path / "deployment.json"), **opts
        )
        return Indexer(o)

    return build
