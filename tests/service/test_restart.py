"""The restart journey of the README's main job (`loyalty up`), on SQLite and PostgreSQL.

Points are earned through its API and gifted on chain; then the job is stopped (SIGTERM), killed
(SIGKILL: its anvil must die with it and save on the way out), crashed whole (main job and
anvil killed at once: the last seconds of the chain are lost, the mirror is ahead and rolls
back), and its anvil is killed under it (restarted from its saved state). After each: the same
chain, the same or a later head, the same balances, the mirror reused, and a clean audit.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from loyalty_ledger.chain.anvil import rpc_chain_id

from ..pg import fresh_schema
from .journey import (
    block_hash,
    earn,
    gift,
    mirror_balance,
    people,
    snapshot,
    timed,
    wait_for_save,
)
from .mainjob import MainJob, alive, audit_clean, wait_for

pytestmark = pytest.mark.chain

FIGURES: dict[str, float] = {}


@pytest.fixture(params=["sqlite", "postgresql"])
def job(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MainJob]:
    with ExitStack() as stack:
        url = None
        if request.param == "postgresql":
            url = stack.enter_context(fresh_schema("durable"))
        # Earning sent in the request (LOYALTY_OUTBOX=0): a crash loses what the chain lost.
        # The outbox's own crash path (sent again) is test_the_outbox_sends_again_what_….
        main = MainJob(tmp_path, database_url=url, interval=3.0, extra_env={"LOYALTY_OUTBOX": "0"})
        stack.callback(main.cleanup)
        yield main


def _backups(job: MainJob) -> list[str]:
    return sorted(p.name for p in job.data_dir.glob("ledger.2*.db"))


def test_restart_journey(job: MainJob, request: pytest.FixtureRequest) -> None:
    backend = "postgresql" if job.database_url.startswith("postgresql") else "sqlite"
    job.start().wait_ready()
    p = people(job)
    earn(job, p)
    gift(job, p)
    job.wait_synced()
    first = snapshot(job, p)
    assert first.balances[0] > 0 and first.balances[1] >= 7

    # 1. SIGTERM: a clean stop, then the same chain and mirror
    mirror, anvil = job.mirror(), job.anvil_pid()
    assert anvil is not None and alive(anvil)
    job.signal(signal.SIGTERM)
    assert job.wait_exit() == 0
    wait_for("anvil to stop with the job", lambda: not alive(anvil), 30)
    assert rpc_chain_id(job.rpc_url) is None
    assert job.mirror() == mirror
    FIGURES[f"{backend}: restart after SIGTERM (s)"] = job.start().wait_ready()
    out = job.output()
    assert "from its saved state" in out and "network: reusing" in out, out
    assert "moved" not in out and not _backups(job)
    again = snapshot(job, p)
    assert (again.chain_id, again.balances) == (first.chain_id, first.balances)
    assert again.head >= first.head and block_hash(job, first.head) == first.head_hash
    assert job.mirror()["events"] >= mirror["events"]  # reused, not rebuilt
    job.wait_synced()
    audit_clean(job)

    # 2. SIGKILL of the main job: its anvil saves and exits with it (no orphan), nothing is lost
    earn(job, p)
    job.wait_synced()
    before, anvil = snapshot(job, p), job.anvil_pid()
    assert anvil is not None
    job.signal(signal.SIGKILL)
    job.wait_exit()
    wait_for("the killed job's anvil to exit", lambda: not alive(anvil), 30)
    assert rpc_chain_id(job.rpc_url) is None  # the port is free: no orphan to reuse silently
    FIGURES[f"{backend}: restart after SIGKILL of the main job (s)"] = job.start().wait_ready()
    after = snapshot(job, p)
    assert (after.chain_id, after.balances) == (before.chain_id, before.balances)
    assert block_hash(job, before.head) == before.head_hash
    job.wait_synced()
    audit_clean(job)

    # 3. Everything killed at once (a power cut): at most the last save interval is lost; the
    # mirror, ahead of the reloaded chain, rolls the lost blocks back.
    gift(job, p)
    wait_for_save(job)  # the keeper saves a moved head within its interval
    saved = snapshot(job, p)
    earn(job, p)
    lost = job.wait_synced(head=saved.head + 1)
    anvil = job.anvil_pid()
    assert anvil is not None
    os.kill(anvil, signal.SIGKILL)
    job.signal(signal.SIGKILL)
    job.wait_exit()
    wait_for("the killed anvil to go", lambda: not alive(anvil), 30)
    assert job.mirror()["checkpoint"] == lost  # the mirror holds blocks the saved chain lacks
    ready = job.start().wait_ready()
    job.wait_synced()
    FIGURES[f"{backend}: restart after a crash of everything (s)"] = ready
    crashed = snapshot(job, p)
    assert crashed.chain_id == saved.chain_id and crashed.balances == saved.balances
    assert crashed.head >= saved.head and block_hash(job, saved.head) == saved.head_hash
    assert "rolled back" in job.output(), job.output()
    assert mirror_balance(job, p, p.alice) == crashed.balances[0]
    audit_clean(job)

    # 4. The job's anvil dies under it: restarted from its saved state, the API's signer
    # resynchronises its nonce, the mirror rolls back what the chain lost
    earn(job, p)
    wait_for_save(job)
    saved = snapshot(job, p)
    earn(job, p)  # the API's signer counts this nonce; the chain is about to lose it
    gift(job, p)
    job.wait_synced(head=saved.head + 2)
    anvil = job.anvil_pid()
    assert anvil is not None
    os.kill(anvil, signal.SIGKILL)
    _, took = timed(
        wait_for,
        "the job to restart its anvil",
        lambda: "anvil restarted" in job.output() and job.health().status_code == 200,
        60,
        every=0.05,
    )
    FIGURES[f"{backend}: anvil restarted under the running job (s)"] = took
    assert job.running()
    restarted = snapshot(job, p)
    assert restarted.balances == saved.balances and block_hash(job, saved.head) == saved.head_hash
    earn(job, p)  # the API signs again with the chain's nonce (not the lost one)
    job.wait_synced()
    assert "restarting it from its saved state" in job.output()
    assert mirror_balance(job, p, p.alice) == snapshot(job, p).balances[0]
    audit_clean(job)

    job.signal(signal.SIGTERM)
    assert job.wait_exit() == 0
    print(f"\nrecovery figures: {FIGURES}")


def test_the_outbox_sends_again_what_a_crash_lost(tmp_path: Path) -> None:
    """With the outbox, an earn answered as mined and then lost with the last seconds of the
    chain (a crash of everything) is sent again on the next start: its points come back once."""
    job = MainJob(tmp_path, interval=3.0)  # the outbox is on by default
    try:
        job.start().wait_ready()
        p = people(job)
        earn(job, p)
        gift(job, p)
        wait_for_save(job)
        saved = snapshot(job, p)
        lost = earn(job, p)  # mined, answered 200, then lost with the chain's last blocks
        assert lost["status"] == "confirmed" and lost["block_number"] > saved.head
        points = lost["points"]
        job.wait_synced(head=lost["block_number"])
        anvil = job.anvil_pid()
        assert anvil is not None
        os.kill(anvil, signal.SIGKILL)
        job.signal(signal.SIGKILL)
        job.wait_exit()
        wait_for("the killed anvil to go", lambda: not alive(anvil), 30)
        job.start().wait_ready()
        assert "transaction(s) mined after block" in job.output(), job.output()
        balance = wait_for(
            "the lost earn to be mined again",
            lambda: snapshot(job, p).balances[0] == saved.balances[0] + points,
            60,
        )
        assert balance
        again = earn(job, p, order_id=lost["order_id"])  # the same order: its one record
        assert again["duplicate"] and again["status"] == "confirmed", again
        assert again["block_number"] > saved.head and again["tx_hash"] == lost["tx_hash"], again
        job.wait_synced()
        assert mirror_balance(job, p, p.alice) == saved.balances[0] + points  # once, not twice
        audit_clean(job)
    finally:
        job.cleanup()
