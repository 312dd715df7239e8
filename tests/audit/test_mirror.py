"""The mirror check: a mirror built by the indexer audits clean; every tamper is caught and named.

Runs on SQLite and on PostgreSQL (a throw-away database per test; skipped without a server).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from loyalty_ledger.audit.report import to_text
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.indexer.runner import Indexer, IndexerOptions
from loyalty_ledger.store import make_engine, metadata

pytestmark = pytest.mark.chain
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
T = metadata.tables


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def mirror(request: pytest.FixtureRequest, scenario: Any, tmp_path: Any) -> Iterator[str]:
    """A fresh mirror of the scenario, built by the project's indexer."""
    if request.param == "sqlite":
        gen: Iterator[str] = iter([f"sqlite:///{tmp_path / 'mirror.db'}"])
    else:
        gen = _pg_database()
    url = next(gen)
    dep = scenario.deployment
    Indexer(
        IndexerOptions(
            rpc_url=scenario.anvil.url,
            database_url=url,
            registry=dep.registry,
            start_block=dep.start_block,
            forwarder=dep.forwarder,
            progress=False,
        )
    ).run(follow=False)
    yield url
    for _ in gen:  # drops the PostgreSQL database
        pass


def _audit(scenario: Any, url: str, **kw: Any):
    return run_audit(scenario.network, database=url, check_code=False, **kw)


def _exec(url: str, stmt: Any) -> Any:
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            return c.execute(stmt)
    finally:
        engine.dispose()


def _rows(url: str, stmt: Any) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return list(c.execute(stmt).mappings())
    finally:
        engine.dispose()


def _codes(rep: Any) -> set[tuple[str, str, str]]:
    return {(f.check, f.code, f.key) for f in rep.errors}


def test_clean_mirror_audits_clean(scenario: Any, mirror: str) -> None:
    rep = _audit(scenario, mirror, bisect_database=mirror)
    assert rep.ok, to_text(rep)
    assert rep.block == scenario.marks["end"]  # the audit ran at the mirror's checkpoint
    assert rep.checks["mirror"]["event_rows"] == rep.events
    assert rep.checks["mirror"]["derived_rows"] > 20
    assert rep.bisect["first_difference"] is None


def test_mirror_balance_edited(scenario: Any, mirror: str) -> None:
    token, holder = scenario.acme.points.lower(), scenario.addr(0)
    b = T["balance"]
    _exec(mirror, update(b).where(b.c.token == token, b.c.holder == holder).values(amount=10**6))
    rep = _audit(scenario, mirror)
    assert not rep.ok
    (f,) = [f for f in rep.errors]
    assert (f.check, f.code, f.key) == ("mirror", "row-different", f"balance:{token}/{holder}")
    assert (f.expected, f.actual) == ({"amount": 360}, {"amount": 10**6})


def test_event_row_deleted(scenario: Any, mirror: str) -> None:
    e = T["event"]
    row = _rows(mirror, select(e).where(e.c.event == "PointsGifted"))[0]
    _exec(mirror, delete(e).where(e.c.id == row["id"]))
    rep = _audit(scenario, mirror, bisect_database=mirror)
    key = f"event:{row['block_number']}/{row['log_index']}"
    assert ("mirror", "row-missing", key) in _codes(rep)
    assert ("linkage", "block-events", f"block:{row['block_number']}") in _codes(rep)
    missing = next(f for f in rep.errors if f.key == key)
    assert missing.expected["event"] == "PointsGifted" and missing.actual is None
    assert rep.bisect["first_difference"] == row["block_number"]


def test_fake_event_row_inserted(scenario: Any, mirror: str) -> None:
    e = T["event"]
    real = _rows(mirror, select(e).where(e.c.event == "PointsIssued"))[0]
    fake = {k: v for k, v in real.items() if k != "id"} | {
        "log_index": 99,
        "args": {**real["args"], "amount": 5000},
    }
    _exec(mirror, insert(e).values(**fake))
    rep = _audit(scenario, mirror, bisect_database=mirror)
    key = f"event:{real['block_number']}/99"
    assert ("mirror", "row-extra", key) in _codes(rep)
    extra = next(f for f in rep.errors if f.key == key)
    assert extra.actual["args"]["amount"] == 5000 and extra.expected is None
    assert rep.bisect["first_difference"] == real["block_number"]


def test_pass_tier_changed(scenario: Any, mirror: str) -> None:
    p = T["pass"]
    contract = scenario.acme.pass_.lower()
    row = _rows(mirror, select(p).where(p.c.contract == contract, p.c.owner == scenario.addr(0)))[0]
    _exec(
        mirror,
        update(p).where(p.c.contract == contract, p.c.token_id == row["token_id"]).values(tier=0),
    )
    rep = _audit(scenario, mirror)
    (f,) = rep.errors
    assert (f.code, f.key) == ("row-different", f"pass:{contract}/{row['token_id']}")
    assert (f.expected, f.actual) == ({"tier": 2}, {"tier": 0})


def test_checkpoint_moved_back(scenario: Any, mirror: str) -> None:
    s = T["indexer_state"]
    back = scenario.marks["end"] - 4
    hdr = scenario.rpc.call("eth_getBlockByNumber", [hex(back), False])
    _exec(mirror, update(s).values(checkpoint_block=back, checkpoint_hash=hdr["hash"]))
    rep = _audit(scenario, mirror)
    assert rep.block == back
    codes = {f.code for f in rep.errors}
    assert "rows-above-checkpoint" in codes and "row-extra" in codes
    # The state the mirror claims is the head's, not the checkpoint's: the recovery shows.
    lost = f"balance:{scenario.acme.points.lower()}/{scenario.addr(1)}"
    assert ("mirror", "row-missing", lost) in _codes(rep)


def test_block_hash_tampered_breaks_linkage(scenario: Any, mirror: str) -> None:
    b = T["block"]
    n = scenario.marks["mid"]
    _exec(mirror, update(b).where(b.c.number == n).values(hash="0x" + "12" * 32))
    rep = _audit(scenario, mirror)
    assert ("linkage", "block-hash", f"block:{n}") in _codes(rep)
    assert ("linkage", "parent-link", f"block:{n + 1}") in _codes(rep)


def test_history_row_edited(scenario: Any, mirror: str) -> None:
    le = T["ledger_entry"]
    row = _rows(mirror, select(le).where(le.c.kind == "gift"))[0]
    _exec(mirror, update(le).where(le.c.id == row["id"]).values(amount=1, memo="forged"))
    rep = _audit(scenario, mirror)
    (f,) = rep.errors
    assert (f.code, f.key) == (
        "row-different",
        f"ledger_entry:{row['block_number']}/{row['log_index']}",
    )
    assert f.expected == {"amount": 50, "memo": "happy birthday"}
    assert f.actual == {"amount": 1, "memo": "forged"}
