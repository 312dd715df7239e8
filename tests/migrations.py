"""What the migration tests share: an engine on SQLite and on a fresh PostgreSQL schema, and
running an Alembic command on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from loyalty_ledger.store import make_engine
from loyalty_ledger.store.engine import alembic_config

from .pg import fresh_schema


def migration_engine(prefix: str) -> Callable[..., Iterator[Engine]]:
    """An `engine` fixture, once on SQLite and once on a fresh PostgreSQL schema `prefix_…`."""

    @pytest.fixture(params=["sqlite", "postgresql"])
    def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
        if request.param == "sqlite":
            eng = make_engine(f"sqlite:///{tmp_path / 'mig.db'}")
            yield eng
            eng.dispose()
            return
        with fresh_schema(prefix) as url:
            eng = make_engine(url)
            try:
                yield eng
            finally:
                eng.dispose()

    return engine


def alembic_run(engine: Engine, fn: Any, rev: str) -> None:
    """`fn(config, rev)` (e.g. `command.upgrade`) on `engine`, in one transaction."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        fn(cfg, rev)


def previous(rev: str) -> str:
    """The revision `rev` follows in the chain (read from its script, so a re-linked chain stays
    tested)."""
    from alembic.script import ScriptDirectory

    down = ScriptDirectory.from_config(alembic_config()).get_revision(rev).down_revision
    assert isinstance(down, str), f"{rev} has no single predecessor: {down!r}"
    return down
