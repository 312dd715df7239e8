"""Indexer benchmark (not a test): backfill throughput into SQLite and PostgreSQL, raw-only and
with derived state, where the time goes, live lag, peak memory.

    .venv/bin/python benchmarks/bench_indexer.py [--events 200000] [--lag-blocks 1000] [--no-pg]
    .venv/bin/python benchmarks/bench_indexer.py --real [--validity 12] [--epochs 20] [--mixed]

By default the chain is made with the indexer tests' mock contracts (the same events as the
real contracts, cheaper to generate); `--real` makes it with the real contracts instead
(`deploy_network`, `add_brand`, `issueBatch` of 1,000 members a transaction) and measures the
backfills only.

`--real --validity N` (N > 0) gives the four programs an expiry policy of N epochs before any
point is issued, and the activity exercises lots: the issues are spread over `--epochs` epochs
(anvil's clock moves one epoch between rounds, so members hold several live lots and, when
`--epochs` > N, the oldest lots expire before the end), and about a fifth of the events are
the members' own transfers, gifts and redemptions (see `_common.MemberActivity`), for about
the same event count. `--mixed` makes that same activity without a policy (every point
permanent), to tell the policy's cost from the activity's. `--validity 0` without `--mixed`
(the default) is the issue-only chain above, unchanged.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from indexer.netutil import deploy_net, member_addresses, rpc  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from web3 import Web3  # noqa: E402

from loyalty_ledger.chain.anvil import Anvil  # noqa: E402
from loyalty_ledger.indexer import Indexer, IndexerOptions  # noqa: E402
from loyalty_ledger.indexer.decode import decode_logs  # noqa: E402
from loyalty_ledger.store import make_engine  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def generate(net, events: int, per_tx: int) -> None:  # type: ignore[no-untyped-def]
    brands = [net.add_brand(f"bench{i}") for i in range(4)]
    members = member_addresses(per_tx, seed=42)
    done, i, t0 = 0, 0, time.perf_counter()
    while done < events:
        b = brands[i % len(brands)]
        net.issue_batch(b, members, [1 + (i * 7 + j) % 1000 for j in range(per_tx)])
        done += 2 * per_tx
        i += 1
    print(
        f"generated ~{done:,} events in {i} txs over {len(brands)} brands "
        f"({time.perf_counter() - t0:.1f}s)"
    )


ISSUE_SHARE = 0.8
"""Under --validity / --mixed: the share of the events that batch issues emit (the rest are
the members' debits)."""


def generate_real(  # type: ignore[no-untyped-def]
    url: str, events: int, dep_file: Path, validity: int = 0, mixed: bool = False, epochs: int = 20
):
    """The real network: 4 brands, 1,000 registered members, batch issues (2 events each).

    With `validity` or `mixed`, the policy and the activity of `generate_lots`; returns its
    `MemberActivity` (None otherwise).
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _common import addresses

    from loyalty_ledger import ledger
    from loyalty_ledger.chain import contracts
    from loyalty_ledger.chain.deploy import add_brand, deploy_network
    from loyalty_ledger.chain.sender import Sender, connect
    from loyalty_ledger.config import ANVIL_DEV_KEYS
    from loyalty_ledger.validate import reason_bytes, ref_bytes

    t0 = time.perf_counter()
    w3 = connect(url, timeout=300)
    op = Sender(w3, ANVIL_DEV_KEYS[0])
    dep = deploy_network(w3, op)
    progs = [
        add_brand(
            w3,
            op,
            dep,
            brand_id=f"real{i}",
            name=f"Real {i}",
            symbol=f"R{i}",
            admin=op.address,
            tiers=["base"],
        )
        for i in range(4)
    ]
    members = addresses(1000, salt="bench-indexer")
    ledger.register_members(sender=op, deployment=dep, members=members)
    refs = [ref_bytes(f"o{j}") for j in range(len(members))]
    if validity or mixed:
        return generate_lots(
            w3, op, dep, dep_file, progs, members, refs, events, validity, epochs, t0
        )
    calls = [
        contracts.points(w3, progs[i % 4]).functions.issueBatch(
            members,
            [1 + (i + j) % 100 for j in range(len(members))],
            reason_bytes("purchase"),
            refs,
        )
        for i in range(events // (2 * len(members)))
    ]
    op.send_all(calls, gas=40_000_000, chunk=2)  # ~200 KB a tx: keep requests small
    dep.save(dep_file)
    print(
        f"generated {len(calls) * 2 * len(members):,} events with the real contracts in "
        f"{len(calls)} txs ({time.perf_counter() - t0:.1f}s)"
    )
    return None


def generate_lots(  # type: ignore[no-untyped-def]
    w3, op, dep, dep_file, progs, members, refs, events, validity, epochs, t0
):
    """Policy first, then `epochs` rounds one epoch apart: each round a share of the batch
    issues (one brand a batch, in turn) and then the members' debits, ~ISSUE_SHARE of the
    events from issues."""
    from _common import MemberActivity, advance_time

    from loyalty_ledger.chain import contracts
    from loyalty_ledger.ledger.lots import clock_of, set_validity_duration
    from loyalty_ledger.validate import reason_bytes

    n_batches = max(1, round(events * ISSUE_SHARE / (2 * len(members))))
    debit_events = max(0, events - n_batches * 2 * len(members))
    act = MemberActivity(w3, members)
    for p in progs:
        if validity:
            set_validity_duration(sender=op, program=p, epochs=validity)
        act.track(p.points, clock_of(w3=w3, program=p), validity)
    length = clock_of(w3=w3, program=progs[0]).length
    t_issue = t_debit = 0.0
    n_txs = 0
    for r in range(epochs):
        if r:
            advance_time(w3, length)
        batches = [i for i in range(n_batches) if i * epochs // n_batches == r]
        amounts = {i: [1 + (i + j) % 100 for j in range(len(members))] for i in batches}
        calls = [
            contracts.points(w3, progs[i % 4]).functions.issueBatch(
                members, amounts[i], reason_bytes("purchase"), refs
            )
            for i in batches
        ]
        t = time.perf_counter()
        if calls:
            op.send_all(calls, gas=40_000_000, chunk=2)
        now = act.head_time()
        for i in batches:
            act.issued(progs[i % 4].points, members, amounts[i], now)
        t_issue += time.perf_counter() - t
        t = time.perf_counter()
        act.debits(debit_events * (r + 1) // epochs - debit_events * r // epochs)
        t_debit += time.perf_counter() - t
        n_txs += len(calls)
    dep.save(Path(dep_file))
    head = act.head_time()
    live, dead = act.lots(head)
    checked = act.verify()
    s = act.sent
    n_debits = sum(s.values())
    print(
        f"generated {n_batches * 2 * len(members) + act.events:,} events with the real contracts "
        f"in {n_txs + n_debits:,} txs ({time.perf_counter() - t0:.1f}s): validity {validity} "
        f"epochs, {epochs} epochs of {length // 86_400} days; {n_batches} issue batches "
        f"({n_batches * 2 * len(members):,} events, {t_issue:.1f}s), {n_debits:,} member debits "
        f"(transfer {s['transfer']:,}, gift {s['gift']:,}, redeem {s['redeem']:,}; "
        f"{act.events:,} events, {t_debit:.1f}s)"
    )
    print(
        f"model at the head: {live:,} live lots, {dead:,} expired lots "
        f"({act.expired(head):,} points expired); lotsOf of {checked} holdings = model"
    )
    return act


def lot_summary(db_url: str, act) -> str:  # type: ignore[no-untyped-def]
    """The mirror's lots (live, expired) against the model's, for the line after a backfill."""
    with make_engine(db_url).connect() as c:
        swept = dict(c.execute(text("select address, swept_epoch from contract_state")).all())
        rows = c.execute(text("select token, expiry_epoch, amount from point_lot")).all()
    live = sum(1 for t, x, _ in rows if x > swept.get(t, 0))
    dead = [int(a) for t, x, a in rows if x <= swept.get(t, 0)]
    head = act.head_time()
    m_live, m_dead = act.lots(head)
    same = (live, len(dead), sum(dead)) == (m_live, m_dead, act.expired(head))
    return (
        f"  point_lot: {live:,} live, {len(dead):,} expired ({sum(dead):,} points) "
        f"{'= model' if same else f'!= model ({m_live:,} live, {m_dead:,} expired)'}"
    )


def _backfill(opts: IndexerOptions, out) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    Indexer(opts).run(follow=False)
    wall = time.perf_counter() - t0
    out.send(
        {
            "wall": wall,
            **opts.stats,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
    out.close()


def backfill(label: str, opts: IndexerOptions) -> dict:  # type: ignore[type-arg]
    """One backfill in a fresh process (its own peak memory)."""
    ctx = multiprocessing.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=_backfill, args=(opts, b))
    p.start()
    r = a.recv()
    p.join()
    ev = r["events"]
    other = r["wall"] - r["rpc_s"] - r["decode_s"] - r["write_s"]
    print(
        f"{label:<28} {ev:>8,} events {r['wall']:7.2f}s  {ev / r['wall']:>9,.0f} ev/s   "
        f"rpc {r['rpc_s']:.2f}s decode {r['decode_s']:.2f}s write {r['write_s']:.2f}s "
        f"(derive {r['derive_s']:.2f}s) other {other:.2f}s  getLogs {r['getlogs_calls']}  "
        f"peak RSS {r['maxrss_mb']:.0f} MB"
    )
    return r


def decode_only(url: str, net) -> None:  # type: ignore[no-untyped-def]
    logs = rpc(net.w3, "eth_getLogs", [{"fromBlock": hex(net.start_block), "toBlock": "latest"}])
    t0 = time.perf_counter()
    decode_logs(logs)
    dt = time.perf_counter() - t0
    rate = len(logs) / dt
    print(f"decode only (this module)    {len(logs):>8,} logs {dt:7.2f}s  {rate:>9,.0f} logs/s")
    pts = net.brands[0].points
    by_topic = {}
    for name in ("Transfer", "PointsIssued"):
        e = getattr(pts.events, name)()
        by_topic[e.topic if e.topic.startswith("0x") else "0x" + e.topic] = e
    sample = [x for x in logs if x["topics"][0] in by_topic][:20_000]
    from web3._utils.method_formatters import log_entry_formatter  # type: ignore[attr-defined]

    t0 = time.perf_counter()
    for x in sample:
        by_topic[x["topics"][0]].process_log(log_entry_formatter(x))
    dt = time.perf_counter() - t0
    rate = len(sample) / dt
    print(f"decode web3 process_log      {len(sample):>8,} logs {dt:7.2f}s  {rate:>9,.0f} logs/s")


def lag(net, db_url: str, dep: Path, url: str, blocks: int) -> None:  # type: ignore[no-untyped-def]
    opts = IndexerOptions.from_deployment(
        dep, rpc_url=url, database_url=db_url, progress=False, poll_interval=0.1
    )
    idx = Indexer(opts)
    t = threading.Thread(target=idx.run, kwargs={"follow": True}, daemon=True)
    t.start()
    eng = make_engine(db_url)
    q = text("select checkpoint_block from indexer_state")

    def cp() -> int:
        try:
            with eng.connect() as c:
                return c.execute(q).scalar() or -1
        except Exception:  # not migrated yet
            return -1

    while cp() < net.w3.eth.block_number:
        time.sleep(0.05)
    b = net.brands[0]
    members = member_addresses(20, seed=9)
    lags = []
    for i in range(blocks):
        fn = b.points.functions.issueBatch(
            members, [i + 1] * 20, b"lag".ljust(32, b"\0"), [b"\x01" * 32] * 20
        )
        fn.transact({"from": net.op, "gas": 3_000_000})  # automine: mined when this returns
        t0 = time.perf_counter()
        target = net.w3.eth.block_number
        while cp() < target:
            time.sleep(0.001)
        lags.append(time.perf_counter() - t0)
    idx.stop.set()
    t.join(10)
    lags.sort()
    p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] * 1000  # noqa: E731
    print(
        f"live lag over {blocks} blocks (40 events each, poll 0.1s, SQLite, derived): "
        f"p50 {p(0.5):.0f} ms  p99 {p(0.99):.0f} ms  max {lags[-1] * 1000:.0f} ms  "
        f"mean {statistics.mean(lags) * 1000:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--per-tx", type=int, default=2500)
    ap.add_argument("--lag-blocks", type=int, default=1000)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--real", action="store_true", help="the real contracts; backfills only")
    ap.add_argument(
        "--validity",
        type=int,
        default=0,
        help="with --real: an expiry policy of N epochs, issues over --epochs, member debits",
    )
    ap.add_argument(
        "--epochs", type=int, default=20, help="with --validity/--mixed: epochs of activity"
    )
    ap.add_argument(
        "--mixed", action="store_true", help="with --real: the --validity activity, no policy"
    )
    args = ap.parse_args()
    if (args.validity or args.mixed) and not args.real:
        ap.error("--validity and --mixed need --real")
    if args.epochs < 1:
        ap.error("--epochs must be at least 1")
    tmp = Path(tempfile.mkdtemp(prefix="bench-indexer-"))
    with Anvil(
        port=0, extra_args=["--gas-limit", "1000000000", "--disable-code-size-limit"]
    ) as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 120}))
        if args.real:
            dep = tmp / "dep.json"
            act = generate_real(node.url, args.events, dep, args.validity, args.mixed, args.epochs)
            net = None
        else:
            act = None
            net = deploy_net(w3)
            generate(net, args.events, args.per_tx)
            dep = net.deployment_file(tmp / "dep.json")
        # A backfill is history: put it below the reorg window (no undo journal there).
        rpc(w3, "anvil_mine", [hex(100)])
        if net is not None:
            decode_only(node.url, net)
        targets = [("sqlite", lambda n: f"sqlite:///{tmp / n}.db")]
        schemas = []
        if not args.no_pg:

            def pg(n: str) -> str:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                with create_engine(PG).begin() as c:
                    c.execute(text(f"create schema {schema}"))
                schemas.append(schema)
                return f"{PG}?options=-csearch_path%3D{schema}"

            targets.append(("postgresql", pg))
        try:
            for name, mk in targets:
                for derived in (False, True):
                    label = f"{name} {'derived' if derived else 'raw-only'}"
                    db_url = mk(label.replace(" ", "_"))
                    opts = IndexerOptions.from_deployment(
                        dep, rpc_url=node.url, database_url=db_url, progress=False, derived=derived
                    )
                    backfill(label, opts)
                    if derived and act is not None:
                        print(lot_summary(db_url, act))
            if args.lag_blocks and net is not None:
                lag(net, f"sqlite:///{tmp / 'lag'}.db", dep, node.url, args.lag_blocks)
        finally:
            if schemas:
                with create_engine(PG).begin() as c:
                    for s in schemas:
                        c.execute(text(f"drop schema {s} cascade"))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(bench process peak RSS {rss_mb:.0f} MB, cpus {os.cpu_count()})")


if __name__ == "__main__":
    main()
