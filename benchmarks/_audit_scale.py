"""The audit at network scale (`bench_audit.py --scale`): a ledger built once, kept as an anvil
state file, and audits measured in a child process (wall time and peak RSS).

    .venv/bin/python benchmarks/bench_audit.py --scale --issues 500000 --members 20000 \
        --state /tmp/audit-1m.state

The ledger is `bench_audit.build(..., mixed=True)`: batch issues over `--epochs` epochs plus
the members' own transfers, gifts and redemptions (about 2 x `--issues` events). The first run
builds it and dumps anvil's state to `--state` (with `STATE.json` beside it: the network and
the event count); later runs load it (`anvil --load-state`), so the figures can be taken again
without the build.

Measured, each in a fresh `loyalty audit` process (`os.wait4` gives its peak RSS):
  * the full audit (`--full`, bytecode and chain views included) that writes a checkpoint;
  * then `--extra` new events (batch issues) and the incremental audit from that checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from web3 import Web3

from loyalty_ledger.chain.anvil import Anvil

ANVIL_ARGS = ["--gas-limit", "2000000000", "--code-size-limit", "100000", "--silent"]


def ensure_state(state: Path, build_args: dict[str, Any]) -> dict[str, Any]:
    """The network's description; builds the ledger and dumps anvil's state first when
    `state` does not exist yet."""
    meta = state.with_name(state.name + ".json")
    if state.exists() and meta.exists():
        return dict(json.loads(meta.read_text()))
    from bench_audit import build

    from loyalty_ledger.audit.chain_replay import discover_programs
    from loyalty_ledger.audit.decode import Kind
    from loyalty_ledger.audit.rpc import Rpc, iter_log_ranges

    tmp = state.with_name(state.name + ".tmp")
    t = time.perf_counter()
    node = Anvil(port=0, extra_args=[*ANVIL_ARGS, "--dump-state", str(tmp)]).start()
    try:
        net = build(node, mixed=True, **build_args)
        rpc = Rpc(node.url)
        head = rpc.block_number()
        kinds = discover_programs(rpc, net.registry, net.start_block, head, net.forwarder)
        events = sum(
            len(logs) for _, _, logs in iter_log_ranges(rpc, list(kinds), net.start_block, head)
        )
        points = next(a for a, k in kinds.items() if k is Kind.POINTS)
        passes = next(a for a, k in kinds.items() if k is Kind.PASS)
        info = {
            "points": points,
            "pass": passes,
            "registry": net.registry,
            "start_block": net.start_block,
            "forwarder": net.forwarder,
            "head": head,
            "events": events,
            **build_args,
        }
        proc = node.process
        assert proc is not None
        os.killpg(proc.pid, signal.SIGTERM)  # anvil dumps its state on exit: give it time
        proc.wait(timeout=1800)
    finally:
        node.stop()
    tmp.rename(state)
    meta.write_text(json.dumps(info, indent=1))
    print(f"state: {events} events built and dumped to {state} in {time.perf_counter() - t:.0f}s")
    return info


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak RSS in MB, exit code, stdout tail) of one child process."""
    t = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=devnull, text=True)
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t, usage.ru_maxrss // 1024, proc.returncode, out[-2000:]


def audit_cmd(url: str, info: dict[str, Any], checkpoint: Path, *extra: str) -> list[str]:
    loyalty = str(Path(sys.executable).with_name("loyalty"))
    return [
        loyalty,
        "audit",
        "--rpc-url",
        url,
        "--registry",
        info["registry"],
        "--from-block",
        str(info["start_block"]),
        "--forwarder",
        info["forwarder"],
        "--checkpoint",
        str(checkpoint),
        "--json",
        *extra,
    ]


def measure(state: Path, build_args: dict[str, Any], extra: int) -> None:
    """Full audit and incremental audit after `extra` new events, each in a child process."""
    info = ensure_state(state, build_args)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    checkpoint = state.with_name(state.name + ".checkpoint")
    checkpoint.unlink(missing_ok=True)
    t = time.perf_counter()
    with Anvil(port=0, extra_args=[*ANVIL_ARGS, "--load-state", str(state)]) as node:
        print(f"loaded {info['events']} events from {state} in {time.perf_counter() - t:.1f}s")
        wall, rss, rc, out = run_child(audit_cmd(node.url, info, checkpoint, "--full"), env)
        report = json.loads(out) if out.startswith("{") else {}
        print(
            f"full audit: {info['events']} events in {wall:.1f}s, peak RSS {rss} MB, exit {rc}; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in report.get("timings", {}).items())
        )
        new = add_events(node, info, extra)
        wall, rss, rc, out = run_child(audit_cmd(node.url, info, checkpoint), env)
        report = json.loads(out) if out.startswith("{") else {}
        replay = report.get("checks", {}).get("replay", {})
        mode = report.get("checks", {}).get("checkpoint", {})
        print(
            f"incremental audit after {new} new events: {wall:.1f}s, peak RSS {rss} MB, "
            f"exit {rc}; replayed {replay.get('events_replayed')} events from block "
            f"{mode.get('from_block')} ({mode.get('mode')}); "
            + ", ".join(f"{k} {v:.1f}s" for k, v in report.get("timings", {}).items())
        )


def add_events(node: Anvil, info: dict[str, Any], extra: int) -> int:
    """About `extra` new events: batch issues (two events each) by the bench brand."""
    from loyalty_ledger import ledger
    from loyalty_ledger.chain.deploy import Program
    from loyalty_ledger.chain.sender import Sender
    from loyalty_ledger.config import ANVIL_DEV_KEYS

    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 300}))
    brand = Sender(w3, ANVIL_DEV_KEYS[1])
    prog = Program(
        "bench", Web3.to_checksum_address(info["points"]), info["pass"], brand.address, 0
    )
    members = int(info["members"])
    n = extra // 2
    items = [
        ledger.BatchItem(
            Web3.to_checksum_address(f"0x{i % members + 0x1000:040x}"), 1 + i % 97, f"x-{i}"
        )
        for i in range(n)
    ]
    ledger.issue_points_batch(sender=brand, program=prog, items=items, chunk_size=1000)
    return 2 * n
