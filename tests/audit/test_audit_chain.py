"""The audit against a real anvil: clean ledger, older blocks, chain views, code, reports, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from loyalty_ledger import ledger
from loyalty_ledger.audit.chain_replay import replay_chain
from loyalty_ledger.audit.report import to_html, to_json, to_text
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.audit.verify_chain import verify_chain
from loyalty_ledger.audit.verify_code import PROJECT_ROOT, compile_sources, verify_code
from loyalty_ledger.cli.audit import audit_app

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def clean_report(scenario: Any):
    return run_audit(scenario.network, at_block=scenario.marks["end"], member=scenario.addr(0))


def test_clean_ledger_audits_clean(clean_report, scenario: Any) -> None:
    rep = clean_report
    assert rep.ok, to_text(rep)
    assert [f for f in rep.findings if f.severity == "error"] == []
    assert rep.checks["code"]["mismatched"] == []
    assert rep.checks["code"]["contracts"] == 6  # registry, forwarder, 2 x (points, pass)
    assert rep.checks["chain"]["mismatches"] == 0 and rep.checks["chain"]["view_calls"] > 30
    acme = next(p for p in rep.state["programs"] if p["brand"] == "acme")
    liab = acme["liability"]
    assert liab == {**liab, "issued": 950, "redeemed": 120, "forfeited": 20, "outstanding": 810}
    assert liab["issued_by_reason"] == {"purchase": 500, "review": 150, "signup": 300}
    assert liab["forfeited_by_reason"] == {"fraud": 20}
    assert acme["total_supply"] == ledger.total_supply(w3=scenario.w3, program=scenario.acme)
    # The recovery moved member 1's points and pass to member 5.
    assert scenario.addr(1) not in acme["balances"]
    assert acme["balances"][scenario.addr(5)] == 300 + 20 - 50
    owners = {p["owner"]: p for p in acme["passes"]}
    assert owners[scenario.addr(5)]["tier"] == 1 and scenario.addr(0) in owners
    rec = rep.state["members"]["recoveries"]
    assert [(r["lost"], r["new"]) for r in rec] == [(scenario.addr(1), scenario.addr(5))]
    assert rep.state["members"]["frozen"] == [scenario.addr(3)]


def test_member_statement_has_running_balance(clean_report, scenario: Any) -> None:
    st = clean_report.statement
    money = [e for e in st["entries"] if e["balance"] is not None]
    assert [e["kind"] for e in money] == ["issue", "issue", "redeem", "transfer-out"]
    assert [e["balance"] for e in money] == [500, 510, 390, 360]
    assert money[0]["detail"] == {"reason": "purchase", "ref": "order-1"}
    assert money[-1]["counterparty"] == scenario.addr(3)
    assert any(e["kind"] == "PassTierChanged" for e in st["entries"])


def test_reports_render(clean_report, tmp_path: Path) -> None:
    data = json.loads(to_json(clean_report))
    assert data["ok"] is True and data["digest"]["value"] == clean_report.digest
    page = to_html(clean_report)
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page
    assert "acme" in page and clean_report.digest in page
    assert clean_report.digest in to_text(clean_report)


def test_digest_stable_across_runs(scenario: Any, clean_report) -> None:
    again = replay_chain(
        scenario.rpc, scenario.network.registry, scenario.network.start_block, scenario.marks["end"]
    )
    assert again.digests[-1].digest == clean_report.digest
    assert again.digests == clean_report.digests


def test_audit_at_older_block_matches_that_block(scenario: Any, clean_report) -> None:
    mid = scenario.marks["mid"]
    rep = run_audit(scenario.network, at_block=mid, check_code=False)
    assert rep.ok, to_text(rep)
    assert rep.block == mid and rep.checks["chain"]["mismatches"] == 0
    acme = next(p for p in rep.state["programs"] if p["brand"] == "acme")
    assert acme["balances"] == {a: b for a, b in scenario.expected["mid_balances"].items() if b}
    # Its digest is the published digest at that block of the later audit.
    assert rep.digest == [d for d in clean_report.digests if d.block <= mid][-1].digest


def test_chain_view_mismatch_against_doctored_replay(scenario: Any) -> None:
    rep = replay_chain(
        scenario.rpc, scenario.network.registry, scenario.network.start_block, scenario.marks["end"]
    )
    st = rep.state
    book = st.points[scenario.acme.points.lower()]
    book.balances[scenario.addr(0)] += 1
    book.total_supply -= 2
    pas = st.passes[scenario.acme.pass_.lower()]
    tid = pas.holder[scenario.addr(0)]
    pas.passes[tid].tier = 0
    st.members.frozen.discard(scenario.addr(3))
    _, findings = verify_chain(scenario.rpc, st, rep.block)
    keys = {f.key for f in findings}
    p, r = book.address, st.registry
    assert keys == {
        f"points:{p}/balance/{scenario.addr(0)}",
        f"points:{p}/totalSupply",
        f"pass:{pas.address}/passInfo/{tid}",
        f"registry:{r}/isFrozen/{scenario.addr(3)}",
    }
    bal = next(f for f in findings if "balance" in f.key)
    assert (bal.expected, bal.actual) == (361, 360)


def test_bytecode_fails_for_contract_from_different_source(snapshot: Any, tmp_path: Path) -> None:
    sc = snapshot
    # A registry built from a doctored copy of the repository's source.
    root = tmp_path / "repo"
    (root / "contracts").mkdir(parents=True)
    src = (PROJECT_ROOT / "contracts/MemberRegistry.sol").read_text()
    doctored = src.replace(
        "function isFrozen(address account) external view returns (bool) {",
        "function isFrozen(address account) external view returns (bool) {\n"
        "        if (account == address(0xdead)) return true;",
        1,
    )
    assert doctored != src
    (root / "contracts/MemberRegistry.sol").write_text(doctored)
    (root / "contracts/interfaces").symlink_to(PROJECT_ROOT / "contracts/interfaces")
    (root / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
    shutil.copy(PROJECT_ROOT / "foundry.toml", root / "foundry.toml")
    (root / "scripts").symlink_to(PROJECT_ROOT / "scripts")
    bad = compile_sources({"MemberRegistry": "contracts/MemberRegistry.sol"}, root=root)
    registry = sc.network.registry
    sc.rpc.call("anvil_setCode", [registry, "0x" + bad["MemberRegistry"].runtime.hex()])
    checks, findings = verify_code(
        sc.rpc, {registry: "MemberRegistry", sc.acme.points.lower(): "LoyaltyPoints"}
    )
    assert [c.ok for c in checks] == [False, True]
    assert [(f.check, f.code, f.key) for f in findings] == [
        ("code", "bytecode-mismatch", f"MemberRegistry:{registry}")
    ]


def test_cli_exit_codes_and_outputs(scenario: Any, tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    scenario.deployment.save(dep)
    runner = CliRunner()
    out_json, out_html, digests = tmp_path / "r.json", tmp_path / "r.html", tmp_path / "d.json"
    args = [
        "--rpc-url",
        scenario.anvil.url,
        "--deployment",
        str(dep),
        "--no-code",
        "--at-block",
        str(scenario.marks["end"]),
    ]
    res = runner.invoke(
        audit_app,
        [
            *args,
            "--json-out",
            str(out_json),
            "--html",
            str(out_html),
            "--digests-out",
            str(digests),
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(out_json.read_text())["ok"] and out_html.read_text().startswith("<!doctype")
    # A published digest list re-checks clean; a doctored one is bisected to its first block.
    res = runner.invoke(audit_app, [*args, "--bisect", str(digests), "--no-chain"])
    assert res.exit_code == 0, res.output
    published = json.loads(digests.read_text())
    k = len(published["digests"]) // 2
    published["digests"][k]["digest"] = "0x" + "00" * 32
    digests.write_text(json.dumps(published))
    res = runner.invoke(audit_app, [*args, "--bisect", str(digests), "--no-chain", "--json"])
    assert res.exit_code == 1
    report = json.loads(res.stdout)
    assert report["bisect"]["first_difference"] == published["digests"][k]["block"]
    assert "digest/digest-differs" in report["summary"]
