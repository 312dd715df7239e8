"""The indexer killed hard (SIGKILL) at random instants of a backfill and of a live follow, many
times, and restarted: nothing lost, nothing duplicated, no row above the checkpoint."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.indexer import Indexer, IndexerOptions

from .netutil import Follower, Net, activity, assert_mirror_equals_chain, member_addresses, rpc

pytestmark = [pytest.mark.chain]

ROOT = Path(__file__).resolve().parents[2]


def _child(opts: IndexerOptions) -> None:
    # Only fresh objects here: the parent's HTTP and DB connections must not be shared.
    try:
        Indexer(opts).run(follow=True)
    finally:
        os._exit(1)


def _kill_cycle(ctx, opts: IndexerOptions, rnd: random.Random, hi: float) -> None:  # type: ignore[no-untyped-def]
    proc = ctx.Process(target=_child, args=(opts,), daemon=True)
    proc.start()
    time.sleep(rnd.uniform(0.0, hi))
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(5)


def test_sigkill_during_backfill_and_follow(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    rnd = random.Random(int(os.environ.get("CRASH_SEED", "99")))
    brands = [net.add_brand(f"k{i}") for i in range(3)]
    net.register_members(member_addresses(100) + net.w3.eth.accounts[1:4])
    for _ in range(6):
        for b in brands:
            net.issue_batch(b, net.members[:40], [rnd.randint(1, 10**6) for _ in range(40)])
            # Empty blocks between: a one-block-a-batch backfill that lasts long enough for
            # kills to land inside it even on a fast, idle machine.
            rpc(net.w3, "anvil_mine", [hex(6)])
    activity(net, rnd, 10)
    ctx = multiprocessing.get_context("fork")  # a real process, killed mid-transaction
    opts = make_indexer(initial_range=1, max_range=1).o
    kills = mid = 0
    head = net.w3.eth.block_number
    f = Follower(None, net, engine)
    hi = 0.3
    while f.checkpoint()[0] < head and kills < 20:
        before = f.checkpoint()[0]
        _kill_cycle(ctx, opts, rnd, hi)
        kills += 1
        now = f.checkpoint()[0]
        if 0 <= now < head:
            mid += 1
        # a slow start (migrations, lock) under load: widen the window until progress is made
        hi = 0.3 if now > before else min(2.0, hi + 0.2)
        assert_mirror_equals_chain(net, engine, derived=kills % 10 == 0)
    assert mid >= 5, "too few kills landed inside the backfill"
    # live follow: activity goes on while the indexer is killed and restarted
    opts = make_indexer().o
    for _ in range(6):
        proc = ctx.Process(target=_child, args=(opts,), daemon=True)
        proc.start()
        activity(net, rnd, 2)
        time.sleep(rnd.uniform(0.0, 0.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(5)
        kills += 1
        assert_mirror_equals_chain(net, engine, derived=False)
    with Follower(make_indexer(), net, engine) as f2:
        f2.wait_synced(60)
    assert_mirror_equals_chain(net, engine)


def test_sigkill_cli_subprocess(
    net: Net, anvil: Anvil, engine, db_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The real command line, killed while following, then restarted."""
    rnd = random.Random(5)
    b = net.add_brand("cli")
    net.register_members(member_addresses(50))
    dep = net.deployment_file(tmp_path / "dep.json")
    cmd = [
        sys.executable,
        "-m",
        "loyalty_ledger.indexer",
        "--follow",
        "--database",
        db_url,
        "--rpc-url",
        anvil.url,
        "--deployment",
        str(dep),
        "--poll-interval",
        "0.02",
    ]
    env = dict(os.environ, LOYALTY_RPC_TIMEOUT="2")
    for _ in range(2):
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            for _ in range(2):
                net.issue_batch(b, net.members[:50], [rnd.randint(1, 99) for _ in range(50)])
            f = Follower(None, net, engine)
            deadline = time.monotonic() + 60
            while f.checkpoint()[0] < net.w3.eth.block_number - 2 and time.monotonic() < deadline:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.05)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        assert_mirror_equals_chain(net, engine)
