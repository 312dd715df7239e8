"""Mirrors for the audit's tests: built by the project's indexer on SQLite or on a throw-away
PostgreSQL database, and small helpers to read and tamper with them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.indexer.runner import Indexer, IndexerOptions
from loyalty_ledger.store import make_engine

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _pg_database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"audit_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL server at 127.0.0.1:5432")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def indexed_mirror(
    kind: str, tmp_path: Path, rpc_url: str, dep: Deployment, *, exchange: bool = False
) -> Iterator[str]:
    """Yield the URL of a fresh mirror of `dep` (of its exchange too when `exchange`)."""
    gen = iter([f"sqlite:///{tmp_path / 'mirror.db'}"]) if kind == "sqlite" else _pg_database()
    url = next(gen)
    Indexer(
        IndexerOptions(
            rpc_url=rpc_url,
            database_url=url,
            registry=dep.registry,
            start_block=dep.start_block,
            forwarder=dep.forwarder,
            exchange=dep.exchange if exchange else None,
            progress=False,
        )
    ).run(follow=False)
    yield url
    for _ in gen:  # drops the PostgreSQL database
        pass


def exec_(url: str, stmt: Any) -> Any:
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            return c.execute(stmt)
    finally:
        engine.dispose()


def rows(url: str, stmt: Any) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return list(c.execute(stmt).mappings())
    finally:
        engine.dispose()


def codes(rep: Any) -> set[tuple[str, str, str]]:
    return {(f.check, f.code, f.key) for f in rep.errors}
