"""The points economy from the indexer's rollups equals the one read from the history: the
hand-computed fixture data, every program, whole-month and mid-month periods, with and without
the rollups (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from loyalty_ledger.indexer.rollups import rebuild
from loyalty_ledger.insights import report, rollups
from loyalty_ledger.insights.period import make_period

from ..pg import pg_available
from .fixture_data import ACME, BETA, database, seed, ts

PERIODS = [
    ("2026-01-01", "2026-04-01"),  # whole months: the rollups answer
    ("2025-12-01", "2026-05-01"),
    ("2026-01-10", "2026-03-20"),  # mid-month: the history answers
]
NOWS = [ts("2026-02-01"), ts("2026-03-15"), ts("2026-06-01")]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql" and not pg_available():
        pytest.skip("PostgreSQL variant skipped: no server at 127.0.0.1:5432")
    with database(request.param, tmp_path) as (_url, engine):
        seed(engine)
        yield engine


def _answers(engine: Engine) -> list[dict[str, object]]:
    return [
        report.points(engine=engine, program=program, period=make_period(f, t), now=now)
        for program in (ACME, BETA)
        for f, t in PERIODS
        for now in NOWS
    ]


def test_rollups_give_the_same_points_economy(fresh: Engine) -> None:
    with fresh.connect() as conn:
        assert not rollups.covers(conn, token=BETA.points)  # fixtures: the history answers
    direct = _answers(fresh)
    with fresh.begin() as conn:
        rebuild(conn)
    with fresh.connect() as conn:
        assert rollups.covers(conn, token=BETA.points) and rollups.covers(conn, token=ACME.points)
    assert _answers(fresh) == direct
