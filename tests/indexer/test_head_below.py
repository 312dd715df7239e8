"""A node whose head falls below the mirror's checkpoint (evm_revert, a lagging backend), a dead
node, a stopped run: the indexer rolls back within its window or stops with a clear error; it
never waits silently, and a run that did not finish does not claim success."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.indexer import Indexer
from loyalty_ledger.indexer.errors import NodeBehindMirror
from loyalty_ledger.store import models as m

from ..deadport import dead_url
from .faultproxy import FaultProxy
from .netutil import Follower, Net, activity, assert_mirror_equals_chain, member_addresses, rpc

pytestmark = [pytest.mark.chain]
ROOT = Path(__file__).resolve().parents[2]


def _setup(net: Net, rounds: int = 4) -> random.Random:
    rnd = random.Random(5)
    net.add_brand("hb")
    net.register_members(member_addresses(20) + net.w3.eth.accounts[1:4])
    activity(net, rnd, rounds)
    return rnd


def _run_bounded(idx: Indexer, seconds: float = 30.0) -> None:
    """idx.run(follow=False) in a thread; fails (and stops it) if it does not return in time."""
    error: list[BaseException] = []

    def go() -> None:
        try:
            idx.run(follow=False)
        except BaseException as exc:
            error.append(exc)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        idx.stop.set()
        t.join(10)
        pytest.fail(f"indexer without --follow still running after {seconds}s")
    if error:
        raise error[0]


def test_head_below_checkpoint_is_rolled_back(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net)
    snap = rpc(net.w3, "evm_snapshot")
    kept = net.w3.eth.block_number
    activity(net, rnd, 3)
    rpc(net.w3, "anvil_mine", [hex(3)])
    _run_bounded(make_indexer())
    assert assert_mirror_equals_chain(net, engine) > 0
    assert rpc(net.w3, "evm_revert", [snap])
    assert net.w3.eth.block_number == kept
    idx = make_indexer()
    _run_bounded(idx)
    assert idx.finished
    assert_mirror_equals_chain(net, engine)
    with engine.connect() as c:
        st = c.execute(select(m.IndexerState.__table__)).mappings().one()
        above = c.execute(
            select(m.BlockSeen.__table__).where(m.BlockSeen.__table__.c.number > kept)
        ).all()
    assert st["checkpoint_block"] == kept and above == []
    activity(net, rnd, 2)  # and it goes on from there
    _run_bounded(make_indexer())
    assert_mirror_equals_chain(net, engine)


def test_head_below_the_window_stops_with_a_clear_error(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net)
    snap = rpc(net.w3, "evm_snapshot")
    head = net.w3.eth.block_number
    activity(net, rnd, 2)
    rpc(net.w3, "anvil_mine", [hex(12)])
    _run_bounded(make_indexer(window=4))
    assert rpc(net.w3, "evm_revert", [snap])
    with pytest.raises(NodeBehindMirror, match=f"has head {head}, below the mirror's checkpoint"):
        _run_bounded(make_indexer())


def test_follower_waits_for_a_lagging_node_then_rolls_back(
    net: Net, anvil: Anvil, make_indexer, engine
) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net)
    with (
        FaultProxy(anvil.url) as proxy,
        Follower(make_indexer(rpc_url=proxy.url, lag_grace=1.0), net, engine) as f,
    ):
        cp = f.wait_synced()
        proxy.lag_head = cp - 3
        time.sleep(0.4)
        assert f.checkpoint()[0] == cp  # within the grace: waited for
        deadline = time.monotonic() + 10
        while f.checkpoint()[0] != cp - 3 and time.monotonic() < deadline:
            assert f.error is None
            time.sleep(0.05)
        assert f.checkpoint()[0] == cp - 3  # then the blocks the node denies are gone
        proxy.lag_head = None
        activity(net, rnd, 2)
        f.wait_synced()
        assert_mirror_equals_chain(net, engine)


def _index_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "loyalty_ledger.indexer", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_dead_node_gives_up_in_bounded_time(net: Net, db_url: str, tmp_path: Path) -> None:
    dep = net.deployment_file(tmp_path / "dep.json")
    t0 = time.monotonic()
    with dead_url() as dead:
        args = ["--rpc-url", dead, "--database", db_url, "--deployment", str(dep)]
        proc = _index_cli([*args, "--give-up-after", "2"], {})
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert time.monotonic() - t0 < 30
    assert dead in err and "LOYALTY_RPC_URL" in err and "did not answer" in err
    assert "indexed" not in out


def test_sigterm_before_catching_up_is_not_success(net: Net, db_url: str, tmp_path: Path) -> None:
    dep = net.deployment_file(tmp_path / "dep.json")
    with dead_url() as dead:
        proc = _index_cli(["--rpc-url", dead, "--database", db_url, "--deployment", str(dep)], {})
        assert proc.stderr is not None
        seen = []  # wait until it retries the dead node (its signal handlers are set by then)
        while not any("retry 1 in" in line for line in seen[-1:]):
            line = proc.stderr.readline()
            assert line, f"the indexer exited early: {''.join(seen)}"
            seen.append(line)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    err = "".join(seen) + err
    assert proc.returncode == 1, (out, err)
    assert "stopped before catching up" in err and "indexed 0 events" not in out
