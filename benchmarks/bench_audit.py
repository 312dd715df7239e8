"""Benchmark of the audit (not a test): a ledger of >= 200,000 events on a local anvil.

    .venv/bin/python benchmarks/bench_audit.py [--issues 100000] [--members 5000]
    .venv/bin/python benchmarks/bench_audit.py --validity 12 [--epochs 20] [--mixed]

Builds the ledger with batch issues (each issue is two events: Transfer + PointsIssued), then
prints: the replay rate of the pure core (decode + replay + digest over logs in memory), the
rate of the replay from the node (eth_getLogs included), and the time of the full audit
(replay, bytecode verification, every chain view call).

`--validity N` (N > 0) sets the program's expiry policy to N epochs before any point is
issued, and the ledger exercises lots: the issues are spread over `--epochs` epochs (anvil's
clock moves one epoch between rounds, so members hold several live lots and, when `--epochs`
> N, the oldest lots expire before the end), and about a fifth of the events are the
members' own transfers, gifts and redemptions (see `_common.MemberActivity`); the event count
stays about 2 x `--issues` (fewer issues, plus the debits). `--mixed` makes that same ledger
without a policy (every point permanent), to tell the policy's cost from the activity's.
`--validity 0` without `--mixed` (the default) is the issue-only ledger above, unchanged.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.audit.chain_replay import Network, discover_programs, replay_chain
from loyalty_ledger.audit.decode import Log, decode
from loyalty_ledger.audit.digest import DigestChain
from loyalty_ledger.audit.invariants import check_invariants
from loyalty_ledger.audit.replay import Replayer
from loyalty_ledger.audit.rpc import Rpc, iter_log_ranges
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.audit.verify_code import compile_sources
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.deploy import Program, add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.ledger.lots import clock_of, set_validity_duration

ISSUE_SHARE = 0.8
"""Under --validity / --mixed: the share of the events that issues emit (the rest are the
members' debits)."""


def build(
    node: Anvil,
    issues: int,
    members: int,
    chunk: int,
    validity: int = 0,
    mixed: bool = False,
    epochs: int = 20,
) -> Network:
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
    if validity or mixed:
        build_lots(w3, brand, prog, addrs, issues, chunk, validity, epochs)
        return Network(node.url, dep.registry.lower(), dep.start_block, dep.forwarder.lower())
    items = [ledger.BatchItem(addrs[i % members], 1 + i % 97, f"o-{i}") for i in range(issues)]
    t = time.perf_counter()
    ledger.issue_points_batch(sender=brand, program=prog, items=items, chunk_size=chunk)
    print(f"built: {issues} issues to {members} members in {time.perf_counter() - t:.1f}s")
    return Network(node.url, dep.registry.lower(), dep.start_block, dep.forwarder.lower())


def build_lots(
    w3: Web3,
    brand: Sender,
    prog: Program,
    addrs: list[str],
    issues: int,
    chunk: int,
    validity: int,
    epochs: int,
) -> None:
    """Policy first, then `epochs` rounds one epoch apart: each round its share of the issues,
    then the members' debits; ~ISSUE_SHARE of the ~2 x `issues` events from issues."""
    from _common import MemberActivity, advance_time

    if validity:
        set_validity_duration(sender=brand, program=prog, epochs=validity)
    clock = clock_of(w3=w3, program=prog)
    act = MemberActivity(w3, addrs)
    act.track(prog.points, clock, validity)
    n = max(1, round(issues * ISSUE_SHARE))
    debit_events = max(0, 2 * issues - 2 * n)
    items = [ledger.BatchItem(addrs[i % len(addrs)], 1 + i % 97, f"o-{i}") for i in range(n)]
    t, t_issue, t_debit = time.perf_counter(), 0.0, 0.0
    for r in range(epochs):
        if r:
            advance_time(w3, clock.length)
        part = items[n * r // epochs : n * (r + 1) // epochs]
        t1 = time.perf_counter()
        if part:
            ledger.issue_points_batch(sender=brand, program=prog, items=part, chunk_size=chunk)
            act.issued(
                prog.points, [i.member for i in part], [i.amount for i in part], act.head_time()
            )
        t2 = time.perf_counter()
        act.debits(debit_events * (r + 1) // epochs - debit_events * r // epochs)
        t_issue, t_debit = t_issue + t2 - t1, t_debit + time.perf_counter() - t2
    head = act.head_time()
    live, dead = act.lots(head)
    checked = act.verify(200)
    s = act.sent
    print(
        f"built: {n} issues to {len(addrs)} members and {sum(s.values())} member debits "
        f"(transfer {s['transfer']}, gift {s['gift']}, redeem {s['redeem']}; "
        f"{act.events} events) in {time.perf_counter() - t:.1f}s [issues {t_issue:.1f}s, "
        f"debits {t_debit:.1f}s]; validity {validity} epochs, {epochs} epochs of "
        f"{clock.length // 86_400} days"
    )
    print(
        f"model at the head: {live} live lots, {dead} expired lots "
        f"({act.expired(head)} points expired); lotsOf of {checked} holders = model"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issues", type=int, default=100_000)
    ap.add_argument("--members", type=int, default=5_000)
    ap.add_argument("--chunk", type=int, default=1_000)
    ap.add_argument(
        "--validity", type=int, default=0, help="expiry policy (epochs), issues over --epochs"
    )
    ap.add_argument("--epochs", type=int, default=20, help="with --validity/--mixed")
    ap.add_argument("--mixed", action="store_true", help="the --validity ledger, no policy")
    ap.add_argument("--scale", action="store_true", help="full + incremental audit (_audit_scale)")
    ap.add_argument("--state", type=Path, help="with --scale: anvil state file (built once)")
    ap.add_argument("--extra", type=int, default=10_000, help="with --scale: new events")
    ap.add_argument("--build-only", action="store_true", help="with --scale: build the state")
    ap.add_argument("--mirror", action="store_true", help="with --scale: verify a SQLite mirror")
    a = ap.parse_args()
    if a.epochs < 1:
        ap.error("--epochs must be at least 1")
    if a.scale:
        from _audit_scale import ensure_state, measure

        if a.state is None:
            ap.error("--scale needs --state FILE")
        args = {
            "issues": a.issues,
            "members": a.members,
            "chunk": a.chunk,
            "validity": a.validity,
            "epochs": a.epochs,
        }
        if a.build_only:
            ensure_state(a.state, args)
        else:
            measure(a.state, args, a.extra, a.mirror)
        return
    with Anvil(
        port=0, extra_args=["--gas-limit", "2000000000", "--code-size-limit", "100000"]
    ) as node:
        net = build(node, a.issues, a.members, a.chunk, a.validity, a.mixed, a.epochs)
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
