"""The mirror check: a mirror built by the indexer audits clean; every tamper is caught and named.

Runs on SQLite and on PostgreSQL (a throw-away database per test; skipped without a server).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from loyalty_ledger.audit.report import to_text
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.store import metadata

from .mirrors import PARAMS, codes, exec_, indexed_mirror, rows

pytestmark = pytest.mark.chain
T = metadata.tables


@pytest.fixture(params=PARAMS)
def mirror(request: pytest.FixtureRequest, scenario: Any, tmp_path: Any) -> Iterator[str]:
    """A fresh mirror of the scenario, built by the project's indexer."""
    yield from indexed_mirror(request.param, tmp_path, scenario.anvil.url, scenario.deployment)


def _audit(scenario: Any, url: str, **kw: Any):
    return run_audit(scenario.network, database=url, check_code=False, **kw)


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
    exec_(mirror, update(b).where(b.c.token == token, b.c.holder == holder).values(amount=10**6))
    rep = _audit(scenario, mirror)
    assert not rep.ok
    (f,) = [f for f in rep.errors]
    assert (f.check, f.code, f.key) == ("mirror", "row-different", f"balance:{token}/{holder}")
    assert (f.expected, f.actual) == ({"amount": 360}, {"amount": 10**6})


def test_event_row_deleted(scenario: Any, mirror: str) -> None:
    e = T["event"]
    row = rows(mirror, select(e).where(e.c.event == "PointsGifted"))[0]
    exec_(mirror, delete(e).where(e.c.id == row["id"]))
    rep = _audit(scenario, mirror, bisect_database=mirror)
    key = f"event:{row['block_number']}/{row['log_index']}"
    assert ("mirror", "row-missing", key) in codes(rep)
    assert ("linkage", "block-events", f"block:{row['block_number']}") in codes(rep)
    missing = next(f for f in rep.errors if f.key == key)
    assert missing.expected["event"] == "PointsGifted" and missing.actual is None
    assert rep.bisect["first_difference"] == row["block_number"]


def test_fake_event_row_inserted(scenario: Any, mirror: str) -> None:
    e = T["event"]
    real = rows(mirror, select(e).where(e.c.event == "PointsIssued"))[0]
    fake = {k: v for k, v in real.items() if k != "id"} | {
        "log_index": 99,
        "args": {**real["args"], "amount": 5000},
    }
    exec_(mirror, insert(e).values(**fake))
    rep = _audit(scenario, mirror, bisect_database=mirror)
    key = f"event:{real['block_number']}/99"
    assert ("mirror", "row-extra", key) in codes(rep)
    extra = next(f for f in rep.errors if f.key == key)
    assert extra.actual["args"]["amount"] == 5000 and extra.expected is None
    assert rep.bisect["first_difference"] == real["block_number"]


def test_pass_tier_changed(scenario: Any, mirror: str) -> None:
    p = T["pass"]
    contract = scenario.acme.pass_.lower()
    row = rows(mirror, select(p).where(p.c.contract == contract, p.c.owner == scenario.addr(0)))[0]
    exec_(
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
    exec_(mirror, update(s).values(checkpoint_block=back, checkpoint_hash=hdr["hash"]))
    rep = _audit(scenario, mirror)
    assert rep.block == back
    found = {f.code for f in rep.errors}
    assert "rows-above-checkpoint" in found and "row-extra" in found
    # The state the mirror claims is the head's, not the checkpoint's: the recovery shows.
    lost = f"balance:{scenario.acme.points.lower()}/{scenario.addr(1)}"
    assert ("mirror", "row-missing", lost) in codes(rep)


def test_block_hash_tampered_breaks_linkage(scenario: Any, mirror: str) -> None:
    b = T["block"]
    n = scenario.marks["mid"]
    exec_(mirror, update(b).where(b.c.number == n).values(hash="0x" + "12" * 32))
    rep = _audit(scenario, mirror)
    assert ("linkage", "block-hash", f"block:{n}") in codes(rep)
    assert ("linkage", "parent-link", f"block:{n + 1}") in codes(rep)


def test_history_row_edited(scenario: Any, mirror: str) -> None:
    le = T["ledger_entry"]
    row = rows(mirror, select(le).where(le.c.kind == "gift"))[0]
    exec_(mirror, update(le).where(le.c.id == row["id"]).values(amount=1, memo="forged"))
    rep = _audit(scenario, mirror)
    (f,) = rep.errors
    assert (f.code, f.key) == (
        "row-different",
        f"ledger_entry:{row['block_number']}/{row['log_index']}",
    )
    assert f.expected == {"amount": 50, "memo": "happy birthday"}
    assert f.actual == {"amount": 1, "memo": "forged"}
