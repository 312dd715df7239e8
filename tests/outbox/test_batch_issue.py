"""`loyalty points issue-batch` killed (SIGKILL) and re-run, on SQLite and PostgreSQL: killed
with every row queued and 4 of them issued by the key's lease holder (another process), killed
again with the other rows sent but unmined; the next run follows the interrupted rows (it
queues nothing again) and each member is credited exactly once on chain; a further run refuses
the refs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import Engine

from loyalty_ledger import ledger
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.chain.submitter import Submitter
from loyalty_ledger.store import make_engine, migrate
from loyalty_ledger.store import outbox as sql
from loyalty_ledger.store.lease import Lease

from ..pg import fresh_schema
from .conftest import BRAND_KEY, MEMBERS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'batch.db'}"
        eng = make_engine(url)
        migrate(eng)
        yield eng, url
        eng.dispose()
        return
    with fresh_schema("bi") as url:
        eng = make_engine(url)
        migrate(eng)
        yield eng, url
        eng.dispose()


class FirstRows(sql.SqlOutbox):
    """Another process's submitter that gets to the first 4 queued rows only."""

    def queued(self, limit: int = 2000) -> list[dict[str, Any]]:
        counts = sql.counts(self.engine)
        return [] if counts.get("sent") or counts.get("mined") else super().queued(limit)[:4]


def _wait(
    what: str, ok: Callable[[], bool], proc: subprocess.Popen[str], limit: float = 60
) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if ok():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the command ended before {what}: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_and_re_run_issues_each_row_once(net: Any, db: Any, tmp_path: Path) -> None:
    w3, dep, dep_path = net
    eng, url = db
    program = dep.program("acme")
    tag = eng.dialect.name
    rows = [(m.address, 10 + i, f"{tag}-k{i}") for i, m in enumerate(MEMBERS)]
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("".join(f"{a},{n},{r}\n" for a, n, r in rows))
    before = {
        m.address: ledger.balance_of(w3=w3, program=program, member=m.address) for m in MEMBERS
    }
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LOYALTY_RPC_URL": w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "LOYALTY_DEPLOYMENT_FILE": str(dep_path),
        "LOYALTY_BRAND_KEY_ACME": BRAND_KEY,
    }
    cmd = [sys.executable, "-m", "loyalty_ledger", "--json", "points", "issue-batch", "acme"]
    cmd += [str(csv_file), "--chunk-size", "4", "--database", url, "--timeout", "60"]

    def spawn() -> subprocess.Popen[str]:
        return subprocess.Popen(
            cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def kill(proc: subprocess.Popen[str]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)

    # 1. Another process holds the key's lease: the command queues every row, then is killed.
    lease = Lease(url, f"submitter:{Account.from_key(BRAND_KEY).address}")
    assert lease.try_acquire()
    proc = spawn()
    _wait("every row queued", lambda: sql.counts(eng).get("queued") == len(rows), proc)
    # ... and the lease holder issues the first 4 rows while the command follows them.
    holder = Submitter(
        Sender(w3, BRAND_KEY, decoder=error_decoder()),
        FirstRows(eng, Account.from_key(BRAND_KEY).address),
        batch_items=4,
        batch_ms=0,
    )
    holder.start()
    holder.step()
    _wait("4 rows mined", lambda: (holder.step(), sql.counts(eng).get("mined") == 4)[1], proc)
    kill(proc)
    lease.release()
    # 2. The re-run sends the other rows (no block is mined), then is killed too.
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        proc = spawn()
        _wait("the other rows sent", lambda: sql.counts(eng).get("sent") == len(rows) - 4, proc)
        kill(proc)
        assert w3.eth.get_block("pending")["transactions"]  # sent, not mined
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    # 3. The third run settles the interrupted rows from the chain; nothing is sent twice.
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["resumed"] == len(rows) - 4 and data["already_issued"] == 4
    assert data["issued"] == len(rows) - 4 and data["unsettled"] == 0
    assert sql.counts(eng) == {"mined": len(rows)}
    # 4. A fourth run refuses every ref.
    again = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and json.loads(again.stderr)["error"] == "already_issued"
    assert all(r in again.stderr for _, _, r in rows[:5])
    after = {
        m.address: ledger.balance_of(w3=w3, program=program, member=m.address) for m in MEMBERS
    }
    assert {a: after[a] - before[a] for a in after} == {a: n for a, n, _ in rows}
    assert (
        len(
            {r["tx_hash"] for r in sql.by_keys(eng, [f"issue:acme:{r}" for *_, r in rows]).values()}
        )
        == 5
    )
