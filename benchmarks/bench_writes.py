"""Benchmark of the write path (issue 13): earns accepted through the outbox, and confirmed.

For each database (SQLite, PostgreSQL): the API served by uvicorn with 2 worker processes and
the outbox on (`LOYALTY_OUTBOX=1`, `LOYALTY_SUBMITTER=0`: the workers only accept), loaded by
one low-CPU asyncio client at `--concurrency` with a new order id per request:

- the floor: a bare FastAPI POST route of the earn route's shape (same body model, no key, no
  database) served by the same workers in the same run (`writes_app.py`);
- `POST /brands/{id}/earn/purchase`: the earn accepted (202): claim + intent in one SQL
  transaction, nothing sent to the node in the request;
- then `loyalty submitter` drains what was accepted: earns confirmed on chain per second
  (issueBatch of `--batch-items`), on an automining anvil;
- the same drain on an anvil mining a block every second (`--block-time 1`);
- gas per earned purchase inside a full batch, beside a single `issue`.

Prints the machine's load average beside the figures (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import Bench, addresses, network, register_all  # noqa: E402
from benchmarks._load import post_load  # noqa: E402
from loyalty_ledger import auth, ledger  # noqa: E402
from loyalty_ledger.chain.anvil import free_port  # noqa: E402
from loyalty_ledger.config import ANVIL_DEV_KEYS  # noqa: E402
from loyalty_ledger.ledger import outbox  # noqa: E402
from loyalty_ledger.store import make_engine, migrate  # noqa: E402
from loyalty_ledger.store import outbox as sql  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BRAND = "bench"


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'writes-{uuid.uuid4().hex[:6]}.db'}"
        return
    schema = f"benchwrites_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG)
    with admin.begin() as c:
        c.execute(text(f"create schema {schema}"))
    try:
        yield f"{PG}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f"drop schema {schema} cascade"))
        admin.dispose()


def env_for(b: Bench, url: str, dep_file: Path, tmp: Path, batch_items: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    return env | {
        "PYTHONPATH": str(ROOT),
        "LOYALTY_RPC_URL": b.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "LOYALTY_DATABASE_URL": url,
        "LOYALTY_DEPLOYMENT_FILE": str(dep_file),
        "LOYALTY_DATA_DIR": str(tmp / ".data"),
        "LOYALTY_OPERATOR_KEY": ANVIL_DEV_KEYS[0],
        "LOYALTY_OUTBOX": "1",
        "LOYALTY_SUBMITTER": "0",
        "LOYALTY_OUTBOX_BATCH_ITEMS": str(batch_items),
    }


@contextmanager
def served(env: dict[str, str], workers: int) -> Iterator[int]:
    """uvicorn serving writes_app (the API + the floor route); yields its port."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "benchmarks.writes_app:create", "--factory",
           "--workers", str(workers), "--port", str(port), "--log-level", "warning",
           "--no-access-log"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    try:
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("the API did not start")
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def order_body(members: list[str], tag: str) -> Any:
    def body(i: int) -> bytes:
        o = {"member": members[i % len(members)], "order_id": f"{tag}-{i}",
             "amount": 10_000 * (1 + i % 5), "currency": "VND", "items": 1}  # fmt: skip
        return json.dumps(o).encode()

    return body


def show(name: str, r: dict[str, Any]) -> None:
    print(
        f"  {name:<34} {r['requests']:>7} req in {r['seconds']:5.1f}s {r['rps']:7.0f} req/s  "
        f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  unexpected: {r['errors'] or 0}",
        flush=True,
    )


def accept(port: int, key: str, members: list[str], args: Any) -> dict[str, Any]:
    """The floor and the earn route, by the same client, after a short warm-up of each."""
    kw = {"concurrency": args.concurrency, "headers": {"X-API-Key": key}}
    tag = uuid.uuid4().hex[:6]
    out = {}
    for name, path, ok in (
        ("floor", f"/brands/{BRAND}/floor/earn/purchase", (200,)),
        ("earn", f"/brands/{BRAND}/earn/purchase", (202,)),
    ):
        body = order_body(members, f"{tag}-{name}")
        post_load(port, path, lambda i, b=body: b(10**8 + i), seconds=1.5, max_requests=400,
                  ok=ok, **kw)  # fmt: skip
        out[name] = post_load(port, path, body, seconds=args.seconds,
                              max_requests=args.max_requests, ok=ok, **kw)  # fmt: skip
        show(f"{name} (2 workers, c={args.concurrency})", out[name])
    return out


def drain(env: dict[str, str], url: str, timeout: float) -> dict[str, Any]:
    """`loyalty submitter` sends every queued intent; confirmed per second from the first
    intent sent to the last mined."""
    engine = make_engine(url)
    queued = sql.counts(engine).get("queued", 0)
    proc = subprocess.Popen([sys.executable, "-m", "loyalty_ledger", "submitter"], cwd=ROOT,
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL)  # fmt: skip
    t_first = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            c = sql.counts(engine)
            if t_first is None and c.get("queued", 0) < queued:
                t_first = time.monotonic()
            if not c.get("queued") and not c.get("sent"):
                break
            time.sleep(0.05)
        t_end = time.monotonic()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    c = sql.counts(engine)
    with engine.connect() as conn:
        txs = conn.execute(text(
            "select t.gas_used, count(i.id) from outbox_tx t join outbox_intent i on i.tx_id = "
            "t.id where t.state = 'mined' group by t.id, t.gas_used"
        )).all()  # fmt: skip
        blocks = conn.execute(text(
            "select count(distinct block_number) from outbox_tx where state = 'mined'"
        )).scalar()  # fmt: skip
    engine.dispose()
    full = [g / n for g, n in txs if n == max(n for _, n in txs)] if txs else []
    seconds = t_end - (t_first or t_end)
    return {
        "queued": queued,
        "mined": c.get("mined", 0),
        "failed": c.get("failed", 0),
        "left": c.get("queued", 0) + c.get("sent", 0),
        "seconds": seconds,
        "per_s": c.get("mined", 0) / seconds if seconds else float("nan"),
        "txs": len(txs),
        "blocks": blocks,
        "gas_per_item": sum(full) / len(full) if full else float("nan"),
        "items_per_tx": max((n for _, n in txs), default=0),
    }


def show_drain(name: str, d: dict[str, Any]) -> None:
    print(
        f"  {name:<34} {d['mined']:>7} mined in {d['seconds']:5.1f}s {d['per_s']:7.0f} /s  "
        f"{d['txs']} txs of <= {d['items_per_tx']} in {d['blocks']} blocks; "
        f"failed {d['failed']}, left {d['left']}; gas per item {d['gas_per_item']:,.0f}",
        flush=True,
    )


def queue_direct(b: Bench, url: str, members: list[str], n: int) -> None:
    """`n` earn-like issue intents queued straight into the outbox (for the drain alone)."""
    engine = make_engine(url)
    migrate(engine)
    issuer = outbox.Issuer(b.operator, b.program)
    tag = uuid.uuid4().hex[:6]
    with engine.begin() as conn:
        for i in range(n):
            issuer.issue(conn, idem_key=f"bt:{tag}:{i}", member=members[i % len(members)],
                         amount=1 + i % 5, reason="purchase", ref=f"{tag}-{i}")  # fmt: skip
    engine.dispose()


def run_db(kind: str, b: Bench, members: list[str], args: Any, tmp: Path) -> None:
    dep_file = tmp / "deployment.json"
    b.deployment.save(dep_file)
    with database(kind, tmp) as url:
        engine = make_engine(url)
        migrate(engine)
        key = auth.create_api_key(engine=engine, kind="brand", brand_id=BRAND, roles=["issuer"])
        engine.dispose()
        env = env_for(b, url, dep_file, tmp, args.batch_items)
        print(f"{kind}: load average {os.getloadavg()[0]:.1f}", flush=True)
        with served(env, args.workers) as port:
            accept(port, key[1], members, args)
        if not args.accept_only:
            show_drain("confirmed, automining anvil", drain(env, url, args.drain_timeout))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--databases", default="sqlite,postgresql")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--batch-items", type=int, default=500)
    ap.add_argument("--block-time-items", type=int, default=5000)
    ap.add_argument("--drain-timeout", type=float, default=300)
    ap.add_argument("--accept-only", action="store_true", help="the floor and accepts only")
    args = ap.parse_args()
    print(f"bench_writes: load average at start {os.getloadavg()}; {os.cpu_count()} cores")
    members = addresses(args.members)
    with tempfile.TemporaryDirectory() as tmpdir, network() as b:
        tmp = Path(tmpdir)
        register_all(b, members)
        single = ledger.issue_points(sender=b.operator, program=b.program, member=members[0],
                                     amount=1, reason="purchase", ref="single")  # fmt: skip
        print(f"gas of a single issue: {single.gas_used:,}")
        for kind in args.databases.split(","):
            run_db(kind, b, members, args, tmp)
    if args.accept_only:
        print(f"bench_writes: load average at end {os.getloadavg()}")
        return
    with tempfile.TemporaryDirectory() as tmpdir, network(extra=["--block-time", "1"]) as b:
        tmp = Path(tmpdir)
        register_all(b, members)
        b.deployment.save(tmp / "deployment.json")
        url = f"sqlite:///{tmp / 'bt.db'}"
        queue_direct(b, url, members, args.block_time_items)
        env = env_for(b, url, tmp / "deployment.json", tmp, args.batch_items)
        show_drain("confirmed, anvil --block-time 1", drain(env, url, args.drain_timeout))
    print(f"bench_writes: load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
