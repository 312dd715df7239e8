"""Write throughput from the Python client to anvil: issues per second.

Usage: .venv/bin/python benchmarks/bench_client.py [--sequential N] [--pipelined N]
- sequential: `ledger.issue_points`, each waiting for its receipt (pre-flight, gas estimate);
- pipelined: `Sender.send_all` (nonces managed locally, every tx sent, receipts collected
  after), with and without the per-transaction pre-flight eth_call.
"""

from __future__ import annotations

import argparse
import time

from _common import addresses, network, register_all

from loyalty_ledger import contracts, ledger
from loyalty_ledger.validate import reason_bytes, ref_bytes


def rate(label: str, n: int, seconds: float) -> None:
    print(f"{label:58} {n:6d} issues {seconds:7.2f}s {n / seconds:9.1f} issues/s")


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
            ledger.issue_points(sender=op, program=prog, member=members[i % 200], amount=1,
                                ref=f"seq-{i}")
        rate("sequential (issue_points, wait each receipt)", args.sequential,
             time.perf_counter() - started)

        token = contracts.points(bench.w3, prog)
        why = reason_bytes("purchase")
        for simulate in (True, False):
            calls = [
                token.functions.issue(members[i % 200], 1, why, ref_bytes(f"p-{simulate}-{i}"))
                for i in range(args.pipelined)
            ]
            started = time.perf_counter()
            if simulate:
                receipts = op.send_all(calls)
            else:
                hashes = [op.send(c, simulate=False, gas=120_000) for c in calls]
                receipts = [op.wait(h) for h in hashes]
            elapsed = time.perf_counter() - started
            assert len(receipts) == args.pipelined
            label = "with pre-flight + gas estimate" if simulate else "fixed gas, no pre-flight"
            rate(f"pipelined (send_all, {label})", args.pipelined, elapsed)


if __name__ == "__main__":
    main()
