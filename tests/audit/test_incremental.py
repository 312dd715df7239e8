"""Incremental audits: a checkpoint at block N, then a replay of N+1 … head only, with the verdict
of a replay from genesis; altered or foreign checkpoints refused; a reorg below N replays from
genesis with a message. Mirrors on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from loyalty_ledger import ledger
from loyalty_ledger.audit.chain_replay import Network
from loyalty_ledger.audit.checkpoint import CheckpointRefused
from loyalty_ledger.audit.report import AuditReport
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.cli.audit import audit_app
from loyalty_ledger.store import metadata

from .mirrors import PARAMS, codes, exec_, indexed_mirror, rows

pytestmark = pytest.mark.chain
T = metadata.tables


def _same(a: AuditReport, b: AuditReport) -> None:
    """The same verdict: digest, events, books and findings."""
    assert (a.block, a.digest, a.digest_blocks, a.events) == (
        b.block,
        b.digest,
        b.digest_blocks,
        b.events,
    )
    assert a.state == b.state
    key = lambda f: json.dumps(f.as_dict(), sort_keys=True, default=str)  # noqa: E731
    assert sorted(map(key, a.findings)) == sorted(map(key, b.findings))


def _cli(net: Network) -> list[str]:
    return [
        "--rpc-url",
        net.rpc_url,
        "--registry",
        net.registry,
        "--from-block",
        str(net.start_block),
    ]


def _mode(rep: AuditReport) -> dict[str, Any]:
    info = rep.checks["checkpoint"]
    assert isinstance(info, dict)
    return info


def test_incremental_equals_full_with_expiry_and_swaps(books: Any, tmp_path: Path) -> None:
    net, cp = books.network, tmp_path / "audit.cp"
    first = run_audit(net, at_block=books.marks["before_expiry"], checkpoint=cp, check_code=False)
    assert _mode(first)["mode"] == "full" and cp.exists()
    inc = run_audit(net, at_block=books.marks["end"], checkpoint=cp, check_code=False)
    assert _mode(inc)["mode"] == "incremental"
    assert _mode(inc)["from_block"] == books.marks["before_expiry"]
    assert 0 < inc.checks["replay"]["events_replayed"] < inc.events
    full = run_audit(net, at_block=books.marks["end"], check_code=False)
    _same(inc, full)
    books_ = [p["liability"] for p in full.state["programs"]]
    assert any(b["expired"] for b in books_) and any(b["swapped_in"] for b in books_)
    again = run_audit(net, at_block=books.marks["end"], checkpoint=cp, check_code=False)
    assert _mode(again)["mode"] == "incremental" and again.checks["replay"]["events_replayed"] == 0
    _same(again, full)
    forced = run_audit(net, at_block=books.marks["end"], checkpoint=cp, full=True, check_code=False)
    assert _mode(forced)["mode"] == "full" and "--full" in _mode(forced)["note"]
    _same(forced, full)


@pytest.fixture(params=PARAMS)
def mirror(request: pytest.FixtureRequest, scenario: Any, tmp_path: Path) -> Iterator[str]:
    yield from indexed_mirror(request.param, tmp_path, scenario.anvil.url, scenario.deployment)


def _checkpointed(scenario: Any, mirror: str, cp: Path) -> None:
    """A checkpoint at the scenario's mid block, with the mirror's rows up to it digested."""
    run_audit(
        scenario.network,
        at_block=scenario.marks["mid"],
        database=mirror,
        checkpoint=cp,
        check_code=False,
    )


def test_incremental_with_mirror_equals_full(scenario: Any, mirror: str, tmp_path: Path) -> None:
    cp = tmp_path / "audit.cp"
    _checkpointed(scenario, mirror, cp)
    inc = run_audit(scenario.network, database=mirror, checkpoint=cp, check_code=False)
    assert _mode(inc)["mode"] == "incremental", _mode(inc)
    assert inc.ok, inc.findings
    full = run_audit(scenario.network, database=mirror, check_code=False)
    _same(inc, full)
    assert inc.checks["mirror"]["event_rows"] == full.checks["mirror"]["event_rows"] == inc.events
    assert inc.checks["mirror"]["ranges_rechecked"] == 0


def _tamper_and_compare(scenario: Any, mirror: str, cp: Path) -> set[tuple[str, str, str]]:
    inc = run_audit(scenario.network, database=mirror, checkpoint=cp, check_code=False)
    assert _mode(inc)["mode"] == "incremental"
    full = run_audit(scenario.network, database=mirror, check_code=False)
    _same(inc, full)
    return codes(inc)


def test_history_tampered_below_the_checkpoint_is_named(
    scenario: Any, mirror: str, tmp_path: Path
) -> None:
    cp = tmp_path / "audit.cp"
    _checkpointed(scenario, mirror, cp)
    le, e = T["ledger_entry"], T["event"]
    mid = scenario.marks["mid"]
    row = rows(mirror, select(le).where(le.c.block_number <= mid, le.c.kind == "issue"))[0]
    exec_(mirror, update(le).where(le.c.id == row["id"]).values(amount=99_999))
    ev = rows(mirror, select(e).where(e.c.block_number <= mid, e.c.event == "PassIssued"))[0]
    exec_(mirror, update(e).where(e.c.id == ev["id"]).values(args={**ev["args"], "tier": 2}))
    found = _tamper_and_compare(scenario, mirror, cp)
    assert (
        "mirror",
        "row-different",
        f"ledger_entry:{row['block_number']}/{row['log_index']}",
    ) in (found)
    assert ("mirror", "row-different", f"event:{ev['block_number']}/{ev['log_index']}") in found
    assert ("linkage", "block-events", f"block:{ev['block_number']}") in found


def test_history_tampered_after_the_checkpoint_is_named(
    scenario: Any, mirror: str, tmp_path: Path
) -> None:
    cp = tmp_path / "audit.cp"
    _checkpointed(scenario, mirror, cp)
    le = T["ledger_entry"]
    row = rows(mirror, select(le).where(le.c.kind == "gift"))[0]
    assert row["block_number"] > scenario.marks["mid"]
    exec_(mirror, update(le).where(le.c.id == row["id"]).values(memo="forged"))
    b = T["balance"]
    token, holder = scenario.acme.points.lower(), scenario.addr(0)
    exec_(mirror, update(b).where(b.c.token == token, b.c.holder == holder).values(amount=7))
    found = _tamper_and_compare(scenario, mirror, cp)
    key = f"ledger_entry:{row['block_number']}/{row['log_index']}"
    assert ("mirror", "row-different", key) in found
    assert ("mirror", "row-different", f"balance:{token}/{holder}") in found


def _edit(cp: Path, line: int, old: str, new: str) -> None:
    parts = cp.read_text().split("\n")
    assert old in parts[line]
    parts[line] = parts[line].replace(old, new, 1)
    cp.write_text("\n".join(parts))


def test_altered_checkpoint_refused(scenario: Any, tmp_path: Path) -> None:
    net, cp = scenario.network, tmp_path / "audit.cp"
    run_audit(net, at_block=scenario.marks["mid"], checkpoint=cp, check_code=False)
    good = cp.read_text()
    # A member's points in the state, raised by hand: the state no longer hashes to the seal.
    state = good.split("\n")[1]
    found = re.search(f'"{scenario.addr(0)}":([0-9]+)', state)
    assert found is not None
    old, forged = found.group(0), found.group(0).replace(found.group(1), "900000")
    _edit(cp, 1, old, forged)
    with pytest.raises(CheckpointRefused, match="altered: its state does not hash"):
        run_audit(net, checkpoint=cp, check_code=False)
    # The header moved to a later block (and its hash): the seal no longer binds it.
    cp.write_text(good)
    head = json.loads(good.split("\n")[0])
    _edit(cp, 0, f'"block":{head["block"]},', f'"block":{head["block"] + 1},')
    with pytest.raises(CheckpointRefused, match="altered: its seal"):
        run_audit(net, checkpoint=cp, check_code=False)
    cp.write_text("not a checkpoint\n")
    with pytest.raises(CheckpointRefused, match="not an audit checkpoint"):
        run_audit(net, checkpoint=cp, check_code=False)
    # The CLI says so and stops with exit code 2.
    cp.write_text(good)
    _edit(cp, 1, old, forged)
    res = CliRunner().invoke(
        audit_app,
        [*_cli(net), "--checkpoint", str(cp), "--no-code", "--no-chain"],
    )
    assert res.exit_code == 2, res.output
    said = " ".join(res.output.split())
    assert "was altered" in said and "--full" in said


def test_foreign_checkpoint_refused(scenario: Any, books: Any, tmp_path: Path) -> None:
    cp = tmp_path / "audit.cp"
    run_audit(books.network, at_block=books.marks["end"], checkpoint=cp, check_code=False)
    with pytest.raises(CheckpointRefused, match="belongs to another network"):
        run_audit(scenario.network, checkpoint=cp, check_code=False)
    net = scenario.network
    other = Network(net.rpc_url, net.registry, net.start_block + 1, net.forwarder)
    run_audit(net, at_block=scenario.marks["mid"], checkpoint=cp, check_code=False, full=True)
    with pytest.raises(CheckpointRefused, match="another network"):
        run_audit(other, checkpoint=cp, check_code=False)


def test_reorg_below_the_checkpoint_replays_from_genesis(snapshot: Any, tmp_path: Path) -> None:
    sc, cp = snapshot, tmp_path / "audit.cp"
    m = [s.address for s in sc.members]
    fork = sc.rpc.call("evm_snapshot")
    for i in range(3):
        ledger.issue_points(sender=sc.brand, program=sc.acme, member=m[2], amount=11 + i)
    n = sc.rpc.block_number()
    first = run_audit(sc.network, checkpoint=cp, check_code=False)
    assert first.block == n
    sc.rpc.call("evm_revert", [fork])  # the three blocks are gone ...
    for s in [sc.operator, sc.brand, *sc.members]:
        s.reset_nonce()
    for i in range(5):  # ... and others, with other issues, took their place and went past n
        ledger.issue_points(sender=sc.brand, program=sc.acme, member=m[0], amount=40 + i)
    assert sc.rpc.block_number() > n
    rep = run_audit(sc.network, checkpoint=cp, check_code=False)
    info = _mode(rep)
    assert info["mode"] == "full"
    assert "reorg" in info["note"] and f"block {n} is now" in info["note"]
    full = run_audit(sc.network, check_code=False)
    _same(rep, full)
    assert rep.ok, rep.findings
    after = run_audit(sc.network, checkpoint=cp, check_code=False)  # the new checkpoint is sound
    assert _mode(after)["mode"] == "incremental"
    _same(after, full)


def test_cli_writes_and_resumes_from_the_default_checkpoint(scenario: Any, tmp_path: Path) -> None:
    net = scenario.network
    args = [*_cli(net), "--no-code", "--no-chain", "--json"]
    runner = CliRunner()
    obj = type("Root", (), {"settings": type("S", (), {"data_dir": tmp_path})()})()
    res = runner.invoke(audit_app, [*args, "--at-block", str(scenario.marks["mid"])], obj=obj)
    assert res.exit_code == 0, res.output
    (written,) = (tmp_path / "audit").iterdir()
    assert written.name.startswith(f"checkpoint-{scenario.rpc.chain_id()}-")
    res = runner.invoke(audit_app, args, obj=obj)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["checks"]["checkpoint"]["mode"] == "incremental"
    assert f"resumed from the checkpoint at block {scenario.marks['mid']}" in res.output
