"""Benchmark of the audit (not a test): a ledger of >= 200,000 events on a local anvil.

    .venv/bin/python benchmarks/bench_audit.py [--issues 100000] [--members 5000]

Builds the ledger with batch issues (each issue is two events: Transfer + PointsIssued), then
prints: the replay rate of the pure core (decode + replay + digest over logs in memory), the
rate of the replay from the node (eth_getLogs included), and the time of the full audit
(replay, bytecode verification, every chain view call).
"""

from __future__ import annotations

import argparse
import gc
import time

from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.anvil import Anvil
from loyalty_ledger.audit.chain_replay import Network, discover_programs, replay_chain
from loyalty_ledger.audit.decode import Log, decode
from loyalty_ledger.audit.digest import DigestChain
from loyalty_ledger.audit.invariants import check_invariants
from loyalty_ledger.audit.replay import Replayer
from loyalty_ledger.audit.rpc import Rpc, iter_log_ranges
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.audit.verify_code import compile_sources
from loyalty_ledger.chain import Sender
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.deploy import add_brand, deploy_network


def build(node: Anvil, issues: int, members: int, chunk: int) -> Network:
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 300}))
    op, brand = Sender(w3, ANVIL_DEV_KEYS[0]), Sender(w3, ANVIL_DEV_KEYS[1])
    dep = deploy_network(w3, op)
    prog = add_brand(
        w3,
        op,
        dep,
        brand_id="bench",
        name="Bench",
        symbol="BNC",
        admin=brand.address,
        tiers=["Basic"],
    )
    addrs = [Web3.to_checksum_address(f"0x{i + 0x1000:040x}") for i in range(members)]
    for i in range(0, members, 500):
        ledger.register_members(sender=op, deployment=dep, members=addrs[i : i + 500])
    items = [ledger.BatchItem(addrs[i % members], 1 + i % 97, f"o-{i}") for i in range(issues)]
    t = time.perf_counter()
    ledger.issue_points_batch(sender=brand, program=prog, items=items, chunk_size=chunk)
    print(f"built: {issues} issues to {members} members in {time.perf_counter() - t:.1f}s")
    return Network(node.url, dep.registry.lower(), dep.start_block, dep.forwarder.lower())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issues", type=int, default=100_000)
    ap.add_argument("--members", type=int, default=5_000)
    ap.add_argument("--chunk", type=int, default=1_000)
    a = ap.parse_args()
    with Anvil(
        port=0, extra_args=["--gas-limit", "2000000000", "--code-size-limit", "100000"]
    ) as node:
        net = build(node, a.issues, a.members, a.chunk)
        rpc = Rpc(node.url)
        head = rpc.block_number()

        # 1. the pure core over logs already in memory
        kinds = discover_programs(rpc, net.registry, net.start_block, head, net.forwarder)
        t = time.perf_counter()
        raw = [
            r
            for _, _, logs in iter_log_ranges(rpc, list(kinds), net.start_block, head)
            for r in logs
        ]
        fetch_s = time.perf_counter() - t
        gc.disable()  # as replay_chain does while it replays
        t, cpu = time.perf_counter(), time.process_time()
        logs = [Log.from_rpc(r) for r in raw]
        rep_core = Replayer(net.registry)
        chain = DigestChain(rpc.chain_id(), net.registry)
        for log in logs:
            rep_core.apply(decode(log, kinds[log.address]))
            chain.add(log)
        st = rep_core.finish(head)
        check_invariants(st)
        chain.finish()
        core_s, core_cpu = time.perf_counter() - t, time.process_time() - cpu
        gc.enable()
        n = len(logs)
        print(f"events: {n}")
        print(f"eth_getLogs fetch: {fetch_s:.2f}s ({n / fetch_s:,.0f} events/s)")
        print(
            f"pure replay (parse + decode + replay + digest + invariants): {core_s:.2f}s "
            f"= {n / core_s:,.0f} events/s wall, {n / core_cpu:,.0f} events per CPU-second"
        )
        del raw, logs

        # 2. replay from the node, end to end
        t = time.perf_counter()
        rep = replay_chain(rpc, net.registry, net.start_block, head, forwarder=net.forwarder)
        s = time.perf_counter() - t
        print(
            f"replay from node (fetch included): {s:.2f}s = {rep.log_count / s:,.0f} events/s "
            f"[fetch {rep.timings['fetch']:.2f}s, core {rep.timings['replay']:.2f}s]"
        )

        # 3. the full audit: replay + bytecode (fresh compile) + every chain view
        t = time.perf_counter()
        report = run_audit(net, workers=4, rpc=rpc)
        full = time.perf_counter() - t
        print(
            f"full audit (compile included): {full:.2f}s; ok={report.ok}; "
            f"views={report.checks['chain']['view_calls']}; "
            + ", ".join(f"{k} {v:.2f}s" for k, v in report.timings.items())
        )
        if not report.ok:
            print(report.summary())
            for f in report.errors[:10]:
                print("  ", f.check, f.code, f.key, f.detail)
        compile_sources()  # cached now: the audit without the one-off compile
        t = time.perf_counter()
        report = run_audit(net, workers=4, rpc=rpc)
        print(
            f"full audit (compile cached): {time.perf_counter() - t:.2f}s; ok={report.ok}; "
            f"digest {report.digest}"
        )


if __name__ == "__main__":
    main()
