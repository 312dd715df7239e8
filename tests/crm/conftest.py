"""Member-relationship fixtures: a migrated database on SQLite and on a fresh PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

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
