"""The audit at network scale (`bench_audit.py --scale`): a ledger built once, kept as an anvil
state file, and audits measured in a child process (wall time and peak RSS).

    .venv/bin/python benchmarks/bench_audit.py --scale --issues 500000 --members 20000 \
        --validity 12 --state /tmp/audit-1m.state [--mirror]

The ledger is `bench_audit.build(..., mixed=True)`: batch issues over `--epochs` epochs plus
the members' own transfers, gifts and redemptions (about 2 x `--issues` events). The first run
builds it and dumps anvil's state to `--state` (with `STATE.json` beside it: the network and
the event count); later runs load it (`anvil --load-state`), so the figures can be taken again
without the build.

Measured, each in a fresh `loyalty audit --no-code` process (`os.wait4` gives its peak RSS and
CPU time; bytecode verification is left out: its compile is a constant cost, not the scale's):
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


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[str, int, int, str]:
    """("wall W s, CPU C s", peak RSS in MB, exit code, stdout) of one child process."""
    t = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=devnull, text=True)
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    took = f"wall {time.perf_counter() - t:.1f}s, CPU {usage.ru_utime + usage.ru_stime:.1f}s"
    return took, usage.ru_maxrss // 1024, proc.returncode, out


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
        "--no-code",
        *extra,
    ]


def index(url: str, info: dict[str, Any], db: Path) -> float:
    """Mirror the chain into the SQLite file `db` with the project's indexer; seconds taken."""
    from loyalty_ledger.indexer.runner import Indexer, IndexerOptions

    t = time.perf_counter()
    Indexer(
        IndexerOptions(
            rpc_url=url,
            database_url=f"sqlite:///{db}",
            registry=info["registry"],
            start_block=info["start_block"],
            forwarder=info["forwarder"],
            progress=False,
        )
    ).run(follow=False)
    return time.perf_counter() - t


def measure(state: Path, build_args: dict[str, Any], extra: int, mirror: bool = False) -> None:
    """Full audit and incremental audit after `extra` new events, each in a child process;
    with `mirror`, both verify a SQLite mirror built by the indexer (kept beside the state
    and copied for each run, as the extra events move it on)."""
    import shutil
    import sqlite3

    info = ensure_state(state, build_args)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    checkpoint = state.with_name(state.name + ".checkpoint")
    checkpoint.unlink(missing_ok=True)
    base, work = (state.with_name(state.name + s) for s in (".mirror.db", ".mirror-run.db"))
    t = time.perf_counter()
    with Anvil(port=0, extra_args=[*ANVIL_ARGS, "--load-state", str(state)]) as node:
        print(f"loaded {info['events']} events from {state} in {time.perf_counter() - t:.1f}s")
        db: list[str] = []
        if mirror:
            if not base.exists():
                print(f"mirror indexed in {index(node.url, info, base):.0f}s")
            for suffix in ("", "-wal", "-shm"):
                Path(str(work) + suffix).unlink(missing_ok=True)
            con = sqlite3.connect(base)  # the indexer's last writes may sit in the WAL
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.close()
            shutil.copy(base, work)
            db = ["--database", f"sqlite:///{work}"]
        wall, rss, rc, out = run_child(audit_cmd(node.url, info, checkpoint, "--full", *db), env)
        report = json.loads(out) if out.startswith("{") else {}
        _say_findings(report)
        print(
            f"full audit: {info['events']} events, {wall}, peak RSS {rss} MB, exit {rc}; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in report.get("timings", {}).items())
        )
        new = add_events(node, info, extra)
        if mirror:
            print(f"mirror caught up in {index(node.url, info, work):.1f}s")
        wall, rss, rc, out = run_child(audit_cmd(node.url, info, checkpoint, *db), env)
        report = json.loads(out) if out.startswith("{") else {}
        replay = report.get("checks", {}).get("replay", {})
        mode = report.get("checks", {}).get("checkpoint", {})
        print(
            f"incremental audit after {new} new events: {wall}, peak RSS {rss} MB, "
            f"exit {rc}; replayed {replay.get('events_replayed')} events from block "
            f"{mode.get('from_block')} ({mode.get('mode')}); "
            + ", ".join(f"{k} {v:.1f}s" for k, v in report.get("timings", {}).items())
        )


def add_events(node: Anvil, info: dict[str, Any], extra: int) -> int:
    """About `extra` new events: batch issues (two events each) by the bench brand."""
    from _common import anvil_rpc

    from loyalty_ledger import ledger
    from loyalty_ledger.chain.deploy import Program
    from loyalty_ledger.chain.sender import Sender
    from loyalty_ledger.config import ANVIL_DEV_KEYS

    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 300}))
    # A loaded state's clock restarts at the wall clock, before the ledger's last block (the
    # build moved it epochs ahead): without this the issues would be mined back in time.
    anvil_rpc(w3, "evm_setTime", [int(w3.eth.get_block("latest")["timestamp"]) + 60])
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


def _say_findings(report: dict[str, Any]) -> None:
    for f in report.get("findings", [])[:10]:
        print(f"  {f['severity']} {f['check']}/{f['code']} {f['key']}: {f['detail'][:160]}")
