"""The outage journeys of the README's main job: its database (PostgreSQL behind a TCP proxy the
test controls; the shared server keeps running) or its node (anvil behind a proxy) goes away for
a while as the chain moves. The API answers 503 with the one error body for what needs the
missing part, /health names it and since when, other reads keep working; when it is back
everything resumes by itself: the mirror ends equal to the chain (audit clean) and the job
never exited.

`CUT` seconds keeps the suite fast (the behaviour is the same for longer cuts); set
LOYALTY_TEST_OUTAGE_SECONDS=20 to time a 20 s cut.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from loyalty_ledger.chain.anvil import Anvil

from ..pg import fresh_schema
from ..tcpproxy import TcpProxy
from .journey import BRAND, People, earn, gift, people
from .mainjob import MainJob, audit_clean, wait_for

pytestmark = pytest.mark.chain

CUT = float(os.environ.get("LOYALTY_TEST_OUTAGE_SECONDS", "6"))
FIGURES: dict[str, float] = {}


class Traffic:
    """alice and bob give each other a point every 0.3 s, straight to the node (not through the
    job's proxy), so the chain moves while the job is cut off."""

    def __init__(self, job: MainJob, p: People, url: str) -> None:
        self.program = job.deployment().program(BRAND)
        self.pair = (job.sender(5, url), job.sender(6, url))
        self.stop = threading.Event()
        self.sent = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from loyalty_ledger import ledger

        i = 0
        while not self.stop.wait(0.3):
            a, b = self.pair[i % 2], self.pair[(i + 1) % 2]
            try:
                ledger.gift_points(sender=a, program=self.program, to=b.address, amount=1)
                self.sent += 1
            except Exception as exc:  # reported by the test
                self.errors.append(repr(exc))
            i += 1

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def _error(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and isinstance(body["detail"], str), body


def _degraded(job: MainJob, what: str) -> dict[str, Any] | None:
    r = job.health()
    body = r.json()
    return body if r.status_code == 503 and what in body.get("down", {}) else None


def _cut_and_restore(job: MainJob, p: People, proxy: TcpProxy, what: str, chain_url: str,
                     during: Any) -> dict[str, float]:  # fmt: skip
    """Cut `what` for CUT seconds under live traffic; check the job during and after."""
    with Traffic(job, p, chain_url) as traffic:
        time.sleep(1.0)
        proxy.cut()
        cut_at = time.monotonic()
        body = wait_for(f"/health to report the {what} down", lambda: _degraded(job, what), 20)
        down = body["down"][what]
        assert body["status"] == "degraded" and body["error"] == "unavailable"
        assert down["since"].endswith("Z") and down["seconds"] >= 0 and down["reason"]
        assert what in body["detail"] and "since" in body["detail"]
        during()
        time.sleep(max(0.0, CUT - (time.monotonic() - cut_at)))
        later = job.health().json()["down"][what]
        assert later["since"] == down["since"] and later["seconds"] >= down["seconds"]
        head = job.w3(chain_url).eth.block_number  # the chain moved meanwhile
        proxy.restore()
        back = time.monotonic()
        cut = back - cut_at
        wait_for("/health to be 200 again", lambda: job.health().status_code == 200, 60, 0.05)
        api_back = time.monotonic() - back
        wait_for(
            "the indexer to pass the head reached during the cut",
            lambda: (job.health().json().get("indexer_checkpoint") or 0) >= head,
            60,
            0.05,
        )
        indexer_back = time.monotonic() - back
    assert traffic.sent >= CUT / 0.6 and not traffic.errors, (traffic.sent, traffic.errors)
    job.wait_synced()
    assert job.running()
    audit_clean(job)
    return {"api": api_back, "indexer": indexer_back, "cut": cut}


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def test_database_outage(stack: ExitStack, tmp_path: Path) -> None:
    """PostgreSQL goes away under the running job and comes back."""
    direct = stack.enter_context(fresh_schema("outage"))
    proxy = stack.enter_context(TcpProxy(5432))
    via_proxy = direct.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    job = MainJob(tmp_path, database_url=via_proxy, direct_database_url=direct)
    stack.callback(job.cleanup)
    job.start().wait_ready()
    p = people(job)
    earn(job, p)
    gift(job, p, amount=20)
    job.wait_synced()

    def during() -> None:
        customer = f"/customers/{p.alice.address}"
        _error(job.get(customer, p.operator_key), 503, "database_unavailable")
        _error(job.get(f"/brands/{BRAND}/ledger", p.viewer_key), 503, "database_unavailable")
        for page in ("/wallet", "/dashboard", "/openapi.json"):  # need no database
            assert job.get(page).status_code == 200, page

    took = _cut_and_restore(job, p, proxy, "database", job.rpc_url, during)
    FIGURES[f"database cut {took['cut']:.0f}s: API back (s)"] = took["api"]
    FIGURES[f"database cut {took['cut']:.0f}s: indexer caught up (s)"] = took["indexer"]
    err = job.output()
    assert err.count("loyalty_ledger.indexer: the database is unavailable") == 1, err
    assert err.count("loyalty_ledger.indexer: the database is back after") == 1, err
    assert job.get(f"/customers/{p.alice.address}", p.operator_key).status_code == 200
    job.signal(signal.SIGTERM)
    assert job.wait_exit() == 0
    print(f"\nrecovery figures: {FIGURES}")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_node_outage(stack: ExitStack, tmp_path: Path, backend: str) -> None:
    """The node goes away under the running job (which reuses it) and comes back."""
    db = stack.enter_context(fresh_schema("outage")) if backend == "postgresql" else None
    node = stack.enter_context(Anvil(port=0))
    proxy = stack.enter_context(TcpProxy(node.port))
    job = MainJob(tmp_path, database_url=db, rpc_url=f"http://127.0.0.1:{proxy.port}")
    stack.callback(job.cleanup)
    job.start().wait_ready()
    assert "reusing the node" in job.output()
    p = people(job)
    earn(job, p)
    gift(job, p, amount=20)
    job.wait_synced()

    def during() -> None:
        member = f"/admin/members/{p.alice.address}"  # asks the node
        _error(job.get(member, p.operator_key), 503, "node_unreachable")
        customer = job.get(f"/customers/{p.alice.address}", p.operator_key)  # the mirror
        assert customer.status_code == 200, customer.text
        assert job.get(f"/brands/{BRAND}/ledger", p.viewer_key).status_code == 200

    took = _cut_and_restore(job, p, proxy, "node", node.url, during)
    FIGURES[f"{backend}: node cut {took['cut']:.0f}s: API back (s)"] = took["api"]
    FIGURES[f"{backend}: node cut {took['cut']:.0f}s: indexer caught up (s)"] = took["indexer"]
    assert job.get(f"/admin/members/{p.alice.address}", p.operator_key).status_code == 200
    err = job.output()  # the indexer says when the outage starts, and its end once
    assert err.count("connection failed or dropped (ConnectionError); retry 1 in") == 1, err
    assert err.count("loyalty_ledger.indexer: rpc: the node at") == 1, err
    assert "answers again" in err
    job.signal(signal.SIGTERM)
    assert job.wait_exit() == 0
    print(f"\nrecovery figures: {FIGURES}")


def test_a_chain_reset_under_the_running_job_stops_it(stack: ExitStack, tmp_path: Path) -> None:
    """What cannot heal stops the job with a clear message: its node comes back as another
    chain (a reset, a wrong node behind the same address)."""
    node = stack.enter_context(Anvil(port=0))
    proxy = stack.enter_context(TcpProxy(node.port))
    job = MainJob(tmp_path, rpc_url=f"http://127.0.0.1:{proxy.port}")
    stack.callback(job.cleanup)
    job.start().wait_ready()
    # the mirror holds the chain first: before its first checkpoint a new chain below the
    # deployment's start block looks like a node that lags, not like a reset
    wait_for("the mirror caught up", lambda: job.health().json().get("lag_blocks") == 0, 90)
    other = stack.enter_context(Anvil(port=0))
    proxy.cut()
    proxy.upstream = other.port
    proxy.restore()
    assert job.wait_exit(timeout=90) == 1
    out = job.output()
    assert "error: the chain was reset under the mirror" in out and "genesis" in out, out
