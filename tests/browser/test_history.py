"""History as a person reads it, in real Chromium: dates rather than block numbers, the gift's
memo, the perk's name and the swap's brands and rate (never a 64-character ref); and a browser
teardown that stays bounded and quiet when Chromium stops answering."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import encode_defunct
from sqlalchemy import Engine, insert, select, update

from loyalty_ledger.store.models import Exchange, LedgerEntry
from loyalty_ledger.store.offchain import PerkRow, table

from ..insights.fixture_data import ACCT, ACME, ts
from .chromium import CHROMIUM
from .conftest import Site, serve_site

T_ENTRY = LedgerEntry.__table__  # type: ignore[attr-defined]
SWAP_ID = 3
SWAP_NOTE = f"swap acme → beta at 100:80 (exchange #{SWAP_ID})"
DATE = re.compile(r"^2026-0[1-3]-\d\d \d\d:\d\d$")
HEX64 = re.compile(r"0x[0-9a-f]{64}")


def _history(engine: Engine) -> None:
    """Block times on acme's lines, memos on its gifts, a perk on its redemption, and a swap."""
    with engine.begin() as conn:
        perk = conn.execute(
            select(table(PerkRow).c.id).where(table(PerkRow).c.name == "Free latte")
        ).scalar_one()
        rows = conn.execute(select(T_ENTRY.c.id, T_ENTRY.c.kind).order_by(T_ENTRY.c.id)).all()
        for n, (rid, kind) in enumerate(rows):
            extra: dict[str, Any] = {"block_time": ts("2026-01-05") + n * 86_400 + 3_600}
            if kind == "gift":
                extra["memo"] = "happy birthday!"
            elif kind == "redeem":
                extra["ref"] = f"perk:{perk}"
            conn.execute(update(T_ENTRY).where(T_ENTRY.c.id == rid).values(**extra))
        conn.execute(
            insert(Exchange.__table__),  # type: ignore[attr-defined]
            [
                dict(
                    id=SWAP_ID,
                    from_brand="0x" + b"acme".ljust(32, b"\0").hex(),
                    to_brand="0x" + b"beta".ljust(32, b"\0").hex(),
                    rate_from=100,
                    rate_to=80,
                    daily_cap=500,
                    budget=10_000,
                    issued=8,
                    approved_from=True,
                    approved_to=True,
                    block_number=5,
                )
            ],
        )
        conn.execute(
            insert(T_ENTRY),
            [
                dict(
                    block_number=30,
                    log_index=0,
                    tx_hash="0x" + "cd" * 32,
                    token=ACME.points.lower(),
                    kind="swap_out",
                    account=ACCT["A"].address.lower(),
                    amount=10,
                    ref="0x" + f"{SWAP_ID:064x}",
                    block_time=ts("2026-03-01") + 7_200,
                )
            ],
        )


@pytest.fixture(scope="module")
def history_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(tmp_path_factory.mktemp("history"), _history) as s:
        yield s


def _rows(page: Any, table_id: str) -> list[list[str]]:
    return [r.split("\t") for r in page.inner_text(f"#{table_id}").splitlines() if r.strip()]


def test_dashboard_ledger_shows_dates_and_notes(history_site: Site, browser: Any) -> None:
    page = browser.new_page()
    key = history_site.keys["acme:viewer"]
    page.goto(f"{history_site.url}/dashboard#brand=acme&key={key}")
    page.wait_for_selector("#feed tr:nth-child(2)", timeout=15_000)
    rows = _rows(page, "feed")
    assert rows[0][0] == "when (UTC)"
    assert all(DATE.match(r[0]) for r in rows[1:]), rows  # dates, not block numbers
    notes = {r[1]: r[-1] for r in rows[1:]}
    assert notes["swap_out"] == SWAP_NOTE
    assert notes["gift"] == "happy birthday!" and notes["redeem"] == "perk: Free latte"
    assert page.get_attribute("#feed tr:nth-child(2) td.when", "title") == "block 30"
    assert not HEX64.search(page.inner_text("#feed"))
    page.close()


INJECT = """
window.ethereum = {
  async request({ method, params }) {
    if (method === 'eth_requestAccounts' || method === 'eth_accounts')
      return [await window.llAddress()];
    if (method === 'personal_sign') return await window.llSign(params[0]);
    throw new Error('unsupported ' + method);
  },
};
"""


def test_wallet_history_shows_dates_memo_perk_and_swap(history_site: Site, browser: Any) -> None:
    acct = ACCT["A"]
    page = browser.new_page()

    def sign(message_hex: str) -> str:
        signed = acct.sign_message(encode_defunct(hexstr=message_hex))
        return "0x" + bytes(signed.signature).hex()

    page.expose_function("llSign", sign)
    page.expose_function("llAddress", lambda: acct.address)
    page.add_init_script(INJECT)
    page.goto(f"{history_site.url}/wallet")
    page.click("#connect")
    page.wait_for_selector("#history tr:nth-child(2)", timeout=15_000)
    rows = _rows(page, "history")
    assert rows[0] == ["when (UTC)", "what", "with", "points"]
    assert all(DATE.match(r[0]) for r in rows[1:]), rows
    what = [r[1] for r in rows[1:]]
    assert what[0] == f"swap out · {SWAP_NOTE}"
    assert "redeem · perk: Free latte" in what
    assert what.count("gift · happy birthday!") == 2  # A's two gifts, with their memo
    assert not HEX64.search(page.inner_text("#history"))
    page.close()


WEDGED = """
import json, os, signal, sys, time, warnings
from pathlib import Path
from tests.browser.chromium import chromium_context
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    with chromium_context(Path(sys.argv[1]), close_timeout=3) as chromium:
        page = chromium.context.new_page()
        page.set_content("<p id='x'>ok</p>")
        assert page.inner_text("#x") == "ok"
        os.killpg(chromium.process.pid, signal.SIGSTOP)  # it stops answering
        stopped = time.monotonic()
print(json.dumps({
    "teardown_seconds": time.monotonic() - stopped,
    "warnings": [str(w.message) for w in seen],
    "exit": chromium.process.poll(),
}))
"""


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
def test_teardown_of_a_wedged_browser_is_bounded_and_quiet(tmp_path: Path) -> None:
    """A Chromium that stops answering (SIGSTOP: a loaded machine, at worst) is killed after the
    close timeout: the teardown warns and returns instead of raising or hanging. In its own
    process: Playwright's sync API runs once per thread, and the session browser holds it."""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", WEDGED, str(tmp_path / "profile")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["teardown_seconds"] < 30, result  # close_timeout 3 s, then the kill and waits
    assert any("chromium teardown" in w for w in result["warnings"]), result
    assert result["exit"] is not None  # the whole process group is gone


STALLED = """
import json, os, signal, sys, warnings
from pathlib import Path
from tests.browser import chromium as module
launched = []
real_launch = module._launch
def launch(profile):
    proc = real_launch(profile)
    if not launched:
        os.killpg(proc.pid, signal.SIGSTOP)  # the first start never answers
    launched.append(proc.pid)
    return proc
module._launch = launch
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    with module.chromium_context(Path(sys.argv[1]), start_timeout=5) as chromium:
        page = chromium.context.new_page()
        page.set_content("<p id='x'>ok</p>")
        text = page.inner_text("#x")
print(json.dumps({"text": text, "launched": launched,
                  "warnings": [str(w.message) for w in seen]}))
"""


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
def test_a_stalled_start_is_retried_with_a_fresh_browser(tmp_path: Path) -> None:
    """A Chromium that never finishes starting (a loaded machine stalled CI's CDP handshake for
    60 s) is killed after the start timeout and a fresh one started: the run goes on."""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", STALLED, str(tmp_path / "profile")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["text"] == "ok"
    # The second start usually answers; on a loaded machine it may outlast its own timeout and
    # a third be started (the same retry again).
    assert len(result["launched"]) >= 2
    assert any("chromium start 1 failed" in w for w in result["warnings"]), result
    stale = result["launched"][:-1]  # the stalled one (and any that failed) is gone
    assert all(_group_gone(pid) for pid in stale), stale


def _group_gone(pgid: int, within: float = 10.0) -> bool:
    """The process group `pgid` is gone within `within` seconds (a killed group's children
    are reaped by init a moment after its leader)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
