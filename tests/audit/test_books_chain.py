"""The audit of a network with point expiry and a coalition exchange, on a real anvil.

The story (`conftest._build_books`, 1-day epochs, acme validity 2, bolt validity 3, exchange
acme -> bolt at 100:80), with acme's lots per member (e = acme's epoch at its policy):

    m0: 100 permanent (issued before the policy); 200 -> lot e+2; next day 50 -> lot e+3;
        gifts 80 to m2 (lot e+2), moves 20 of lot e+3 to m3 (transferAtEpoch),
        swaps 100 (lot e+2) for 80 bolt; the day after, redeems 10 (lot e+2 is dead: lot e+3)
    m1: 150 -> lot e+2, redeems 30 (lot e+2)
    m2: 80 of lot e+2 by gift, swaps 50 (gasless) for 40 bolt
    m3: 20 of lot e+3

At the end (epoch e+2) lot e+2 is dead: m0 20 + m1 120 + m2 30 = 170 expired.
acme: issued 500, redeemed 40, swapped out 150, expired 170, outstanding 120 + 20 = 140
      (500 = 40 + 150 + 0 + 170 + 140), totalSupply 310, breakage 170 / 500 = 34%.
bolt: swapped in 120 (lot e+4), outstanding 120. Exchange 0: 2 swaps, 150 in, 120 out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from loyalty_ledger import ledger
from loyalty_ledger.audit.report import to_html, to_text
from loyalty_ledger.audit.rpc import Rpc
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.cli.audit import audit_app

pytestmark = pytest.mark.chain
BOOKS = ("issued", "swapped_in", "redeemed", "swapped_out", "forfeited", "expired", "outstanding")


@pytest.fixture(scope="module")
def report(books: Any):
    return run_audit(books.network, at_block=books.marks["end"], member=books.addr(0))


def _program(rep: Any, brand: str) -> dict[str, Any]:
    return next(p for p in rep.state["programs"] if p["brand"] == brand)


def _books(p: dict[str, Any]) -> tuple[int, ...]:
    return tuple(p["liability"][k] for k in BOOKS)


def test_expiry_and_exchange_audit_clean(report: Any, books: Any) -> None:
    rep = report
    assert rep.ok, to_text(rep)
    assert rep.findings == []
    assert rep.checks["code"]["contracts"] == 7 and rep.checks["code"]["mismatched"] == []
    assert rep.checks["chain"]["mismatches"] == 0
    acme, bolt = _program(rep, "acme"), _program(rep, "bolt")
    assert _books(acme) == (500, 0, 40, 150, 0, 170, 140)
    assert acme["liability"]["breakage_rate"] == 0.34
    assert acme["total_supply"] == 310 == ledger.total_supply(w3=books.w3, program=books.acme)
    assert acme["balances"] == {books.addr(0): 120, books.addr(3): 20}
    assert _books(bolt) == (0, 120, 0, 0, 0, 0, 120)
    assert bolt["liability"]["breakage_rate"] == 0.0
    assert bolt["balances"] == {books.addr(0): 80, books.addr(2): 40}


def test_report_shows_expired_by_period_and_swap_totals(report: Any, books: Any) -> None:
    e = books.e0
    acme = _program(report, "acme")["expiry"]
    assert (acme["validity_epochs"], acme["epoch_length"], acme["epoch"]) == (2, 86_400, e + 2)
    (period,) = acme["periods"]
    assert period["epoch"] == e + 2
    assert (period["issued_into"], period["expired"]) == (350, 170)
    assert period["breakage_rate"] == round(170 / 350, 6)
    assert _program(report, "bolt")["expiry"]["periods"] == []
    (x,) = report.state["exchanges"]
    assert x["address"] == books.deployment.exchange.lower()
    assert (x["from"], x["to"], x["rate"], x["open"]) == ("acme", "bolt", [100, 80], True)
    assert (x["swaps"], x["amount_in"], x["burned_on_from_side"]) == (2, 150, 150)
    assert (x["amount_out"], x["issued_on_to_side"], x["budget_left"]) == (120, 120, 880)
    text = to_text(report)
    assert "expired 170  outstanding 140  breakage 34.00%" in text
    assert "expired 170 of 350 issued into it (48.57%)" in text
    assert "2 swap(s), in 150 (from side burned 150), out 120 (to side issued 120)" in text
    page = to_html(report)
    assert "Expired points and breakage, per brand and period" in page and "48.57%" in page


def test_member_statement_shows_swaps_and_lots(report: Any, books: Any) -> None:
    st = report.statement
    kinds = [e["kind"] for e in st["entries"] if e["balance"] is not None and e["brand"] == "acme"]
    assert kinds == [
        "issue",
        "issue",
        "issue",
        "gift-out",
        "transfer-out",
        "swap-out",
        "redeem",
    ]
    moved = next(e for e in st["entries"] if e["kind"] == "transfer-out")
    assert moved["detail"] == {"epoch": books.e0 + 3}
    assert any(e["kind"] == "swap-in" and e["brand"] == "bolt" for e in st["entries"])
    lots = st["lots"]["acme"]
    assert (lots["balance"], lots["permanent"], lots["expired"]) == (120, 100, 20)
    assert [(x["expiry_epoch"], x["amount"]) for x in lots["lots"]] == [(books.e0 + 3, 20)]


def test_audit_before_expiry(books: Any) -> None:
    rep = run_audit(books.network, at_block=books.marks["before_expiry"], check_code=False)
    assert rep.ok, to_text(rep)
    assert rep.checks["chain"]["mismatches"] == 0
    acme = _program(rep, "acme")
    assert _books(acme) == (500, 0, 30, 150, 0, 0, 320)
    assert acme["liability"]["breakage_rate"] == 0.0 and acme["expiry"]["periods"] == []


def test_lots_checked_against_the_chain(books: Any) -> None:
    from loyalty_ledger.audit.chain_replay import replay_chain
    from loyalty_ledger.audit.verify_chain import verify_chain

    net = books.network
    rep = replay_chain(books.rpc, net.registry, net.start_block, books.marks["end"])
    book = rep.state.points[books.acme.points.lower()]
    m3 = books.addr(3)
    book.lots.holdings[m3].lots[books.e0 + 3] += 5  # the replay now claims 25 in m3's lot
    _, findings = verify_chain(books.rpc, rep.state, rep.block)
    (f,) = findings
    assert f.key == f"points:{book.address}/lots/{m3}"
    assert (f.expected, f.actual) == ([[books.e0 + 3], [25]], [[books.e0 + 3], [20]])


def test_exchange_found_from_its_role_grants(books: Any) -> None:
    from loyalty_ledger.audit.chain_replay import discover_programs
    from loyalty_ledger.audit.decode import Kind

    net = books.network
    kinds = discover_programs(books.rpc, net.registry, net.start_block, books.marks["end"])
    assert kinds[books.deployment.exchange.lower()] is Kind.EXCHANGE
    assert sorted(kinds.values()).count(Kind.EXCHANGE) == 1


def test_cli_reads_the_exchange_from_the_deployment(books: Any, tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    books.deployment.save(dep)
    args = ["--rpc-url", books.anvil.url, "--deployment", str(dep), "--no-code", "--json"]
    res = CliRunner().invoke(audit_app, [*args, "--at-block", str(books.marks["end"])])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] and out["state"]["exchanges"][0]["amount_out"] == 120


class _NoTimes(Rpc):
    """A node whose eth_getLogs answers carry no blockTimestamp (most nodes but anvil)."""

    def get_logs(self, *args: Any, **kw: Any) -> list[dict[str, Any]]:
        logs = super().get_logs(*args, **kw)
        for log in logs:
            log.pop("blockTimestamp", None)
        return logs


def test_block_times_fetched_when_logs_lack_them(books: Any, report: Any) -> None:
    net = books.network
    rep = run_audit(net, at_block=books.marks["end"], check_code=False, rpc=_NoTimes(net.rpc_url))
    assert rep.ok, to_text(rep)
    assert rep.state["programs"] == report.state["programs"]
    assert rep.state["exchanges"] == report.state["exchanges"]


def test_member_statement_reads_with_dates_and_swap_terms(report: Any, books: Any) -> None:
    """A person reads dates, and a swap's brands and rate, not a 64-character exchange ref."""
    st = report.statement
    assert all(e["date"] and e["time"] for e in st["entries"])
    out = next(e for e in st["entries"] if e["kind"] == "swap-out")
    assert out["detail"]["swap"] == "acme → bolt at 100:80" and out["detail"]["exchange_id"] == 0
    assert "Swapped" not in {e["kind"] for e in st["entries"]}  # its two sides say it
    text = to_text(report)
    lines = text[text.index("statement of") :].splitlines()[1:]
    entries = [ln for ln in lines if ln.startswith("  ")]
    assert len(entries) == len(st["entries"])
    assert all(re.match(r"  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  ", ln) for ln in entries), entries
    swap = next(ln for ln in entries if "swap-out" in ln)
    assert "acme → bolt at 100:80" in swap and not re.search(r"0x[0-9a-f]{64}", swap)
    assert "date (UTC)" in to_html(report)
