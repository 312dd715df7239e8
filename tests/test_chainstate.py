"""The embedded chain's state directory and the anvil launcher's durability: reload after a stop,
a cut-off dump set aside, one genesis per dump, the node dies with the process that started it,
a second job waits for the previous anvil to save and reuses a live job's node."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from web3 import Web3

from loyalty_ledger.chain.anvil import Anvil, free_port, rpc_chain_id
from loyalty_ledger.chain.chainstate import ChainState, ChainStateError, read_dump

from .service.mainjob import ROOT, alive, wait_for


def _send(url: str, n: int = 2) -> tuple[int, str]:
    w3 = Web3(Web3.HTTPProvider(url))
    a = w3.eth.accounts
    for _ in range(n):
        w3.eth.wait_for_transaction_receipt(
            w3.eth.send_transaction({"from": a[0], "to": a[1], "value": 1})
        )
    head = w3.eth.get_block("latest")
    return head["number"], head["hash"].to_0x_hex()


def _head(url: str) -> tuple[int, str]:
    head = Web3(Web3.HTTPProvider(url)).eth.get_block("latest")
    return head["number"], head["hash"].to_0x_hex()


def _genesis(url: str) -> str:
    return Web3(Web3.HTTPProvider(url)).eth.get_block(0)["hash"].to_0x_hex()


def test_a_stopped_node_comes_back_with_its_chain(tmp_path: Path) -> None:
    state = ChainState(tmp_path / "chain", interval=0.2)
    with Anvil(port=0, state=state) as node:
        assert node.loaded is None
        genesis, head = _genesis(node.url), _send(node.url)
        wait_for("a save", lambda: (tmp_path / "chain" / "state.json").exists(), 10)
    assert read_dump(state.exit) is not None  # anvil dumped its chain on SIGTERM
    for _ in range(3):  # every reload adds a genesis of anvil's own to the next dump
        with Anvil(port=0, state=state) as node:
            assert node.loaded is not None and node.loaded.head == head[0]
            assert _head(node.url) == head and _genesis(node.url) == genesis
            head = _send(node.url, 1)
            time.sleep(0.5)  # a save of the reloaded node, whose dump holds two genesis blocks


def test_a_dump_cut_off_by_a_kill_is_set_aside(tmp_path: Path) -> None:
    state = ChainState(tmp_path / "chain", interval=0.2)
    with Anvil(port=0, state=state) as node:
        _send(node.url)
        saved = state.save(node.url)
    whole = state.exit.read_bytes()
    state.exit.write_bytes(whole[: len(whole) // 2])  # anvil killed while dumping
    os.utime(state.exit)  # newer than state.json
    with Anvil(port=0, state=state) as node:
        assert node.loaded is not None and node.loaded.path == state.state
        assert node.loaded.head == saved
    assert list(state.dir.glob("exit.broken-*.json"))
    for path in (state.state, state.exit):  # every dump cut off: no silent new chain
        path.write_bytes(b'{"accounts": {')
    with pytest.raises(ChainStateError, match="cut off"):
        state.newest()


def test_the_node_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """SIGKILL of the parent (no cleanup code runs): anvil gets SIGTERM, saves, exits."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from loyalty_ledger.chain.anvil import Anvil
        from loyalty_ledger.chain.chainstate import ChainState
        node = Anvil(port=0, state=ChainState({str(tmp_path / "chain")!r})).start()
        print(node.url, node.process.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert parent.stdout is not None
        url, pid = parent.stdout.readline().split()
        anvil = int(pid)
        _send(url)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        wait_for("anvil to exit with its parent", lambda: not alive(anvil), 20)
        assert rpc_chain_id(url) is None
        assert read_dump(tmp_path / "chain" / "exit.json") is not None  # saved on the way out
    finally:
        if parent.poll() is None:
            parent.kill()


def test_a_second_job_reuses_a_live_jobs_node_and_waits_for_a_dying_one(tmp_path: Path) -> None:
    state_dir = tmp_path / "chain"
    with Anvil(port=0, state=ChainState(state_dir)) as first:
        head = _send(first.url)
        with Anvil(url=first.url, state=ChainState(state_dir)) as second:
            assert second.reused and second.process is None  # `chain up` runs it: reuse
        assert _head(first.url) == head
        owner = json.loads((state_dir / "owner.json").read_text())
        assert owner["anvil"] == first.process.pid and owner["parent"] == os.getpid()  # type: ignore[union-attr]
    # A node that still holds the lock but does not answer: the next start waits for it.
    said: list[str] = []
    lock_holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl,sys,time; f=open(sys.argv[1],'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(1.5)",
         str(state_dir / "lock")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert lock_holder.stdout is not None and lock_holder.stdout.readline().strip() == "held"
    t0 = time.monotonic()
    with Anvil(port=0, state=ChainState(state_dir), say=said.append) as node:
        assert time.monotonic() - t0 >= 1.0 and not node.reused
        assert _head(node.url) == head
    assert any("waiting for the previous anvil" in s for s in said)
    lock_holder.wait(timeout=10)


def test_chain_up_keeps_its_chain_and_restarts_its_anvil(tmp_path: Path) -> None:
    """`loyalty chain up`: the chain survives a stop; a killed anvil comes back from its saved
    state; a killed `chain up` takes its anvil with it."""
    url = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env |= {"LOYALTY_CHAIN_STATE_INTERVAL": "0.3", "PYTHONPATH": str(ROOT)}
    owner = tmp_path / ".data" / "chain" / "owner.json"

    def chain_up() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loyalty_ledger", "--rpc-url", url, "chain", "up"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for("chain up to serve", lambda: proc.poll() is None and rpc_chain_id(url), 30)
        return proc

    def anvil_pid() -> int:
        return int(json.loads(owner.read_text())["anvil"])

    proc = chain_up()
    try:
        head = _send(url)
        wait_for("a save", lambda: (owner.parent / "state.json").exists(), 10)
        time.sleep(0.6)
        first = anvil_pid()
        os.kill(first, signal.SIGKILL)
        wait_for("a new anvil", lambda: rpc_chain_id(url) and anvil_pid() != first, 30)
        assert _head(url) == head and proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert "restarting it from its saved state" in (proc.stderr.read() or "")  # type: ignore[union-attr]
        assert rpc_chain_id(url) is None

        proc = chain_up()
        assert "from its saved state" in (proc.stdout.readline() or "")  # type: ignore[union-attr]
        assert _head(url) == head
        anvil = anvil_pid()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        wait_for("anvil to exit with chain up", lambda: not alive(anvil), 20)
        assert rpc_chain_id(url) is None
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(OSError, ValueError, KeyError):
            if alive(pid := anvil_pid()):
                os.kill(pid, signal.SIGKILL)
