"""Write throughput from the Python client to anvil: issues per second.

Usage: .venv/bin/python benchmarks/bench_client.py [--sequential N] [--pipelined N]
- sequential: `ledger.issue_points`, each waiting for its receipt (pre-flight, gas estimate);
- pipelined: `Sender.send_all` (nonces managed locally; gas estimates, which are the
  pre-flight, and signed transactions each sent in JSON-RPC batches of 200; receipts collected
  after), with and without the pre-flight, on an automining anvil (one block per transaction)
  and on one mining a block a second (many transactions per block).
"""

from __future__ import annotations

import argparse
import time

from _common import Bench, addresses, network, register_all

from loyalty_ledger import ledger
from loyalty_ledger.chain import contracts
from loyalty_ledger.validate import reason_bytes, ref_bytes


def rate(label: str, n: int, seconds: float) -> None:
    print(f"{label:58} {n:6d} issues {seconds:7.2f}s {n / seconds:9.1f} issues/s")


def pipelined(bench: Bench, members: list[str], n: int, label: str, simulate: bool) -> None:
    token = contracts.points(bench.w3, bench.program)
    why, op = reason_bytes("purchase"), bench.operator
    calls = [
        token.functions.issue(members[i % len(members)], 1, why, ref_bytes(f"{label}-{i}"))
        for i in range(n)
    ]
    started = time.perf_counter()
    receipts = op.send_all(calls, gas=None if simulate else 120_000)
    elapsed = time.perf_counter() - started
    assert len(receipts) == n and len({r.tx_hash for r in receipts}) == n
    blocks = len({r.block_number for r in receipts})
    how = "gas estimate as pre-flight" if simulate else "fixed gas, no pre-flight"
    rate(f"pipelined, {label} ({how}; {blocks} blocks)", n, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=300)
    parser.add_argument("--pipelined", type=int, default=2000)
    args = parser.parse_args()
    with network() as bench:
        members = addresses(200)
        register_all(bench, members)
        op, prog = bench.operator, bench.program

        started = time.perf_counter()
        for i in range(args.sequential):
            ledger.issue_points(
                sender=op, program=prog, member=members[i % 200], amount=1, ref=f"seq-{i}"
            )
        rate(
            "sequential (issue_points, wait each receipt)",
            args.sequential,
            time.perf_counter() - started,
        )

        for simulate in (True, False):
            pipelined(bench, members, args.pipelined, "automine", simulate)
    # A node that mines on an interval (as a real network does) takes many txs per block.
    with network(extra=["--block-time", "1"]) as bench:
        members = addresses(200)
        register_all(bench, members)
        for simulate in (True, False):
            pipelined(bench, members, args.pipelined, "1 s blocks", simulate)


if __name__ == "__main__":
    main()
