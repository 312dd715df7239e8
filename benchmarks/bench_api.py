"""Benchmark of the API as `loyalty api serve` serves it: perk eligibility (mirror and strict
on-chain mode) and /health beside the framework's floor, and earn (real transactions).

    .venv/bin/python benchmarks/bench_api.py [--members 10000] [--concurrency 32] [--seconds 10]

A private anvil and a fresh SQLite mirror in a temp dir. The members are SEEDED STRAIGHT INTO THE
MIRROR TABLES (member, balance, pass) for speed: they are not on the chain, so strict mode reads
zeros for them (the same RPC calls as for a real member). The server runs in its own process
session (`--workers` processes) and serves the API plus a bare FastAPI route of eligibility's
shape (`floor_app`): the floor. Reads are loaded by `wrk` (Debian package; one thread) when it is
installed, else by a minimal asyncio client, rotating over every member; every figure is printed
beside the floor measured in the same run and beside the figures issue 17 started from. Earn
goes through httpx and one process (chain writes). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._load import get_load, have_wrk, load_httpx, measured  # noqa: E402
from loyalty_ledger import auth, ledger  # noqa: E402
from loyalty_ledger.chain.anvil import Anvil, free_port  # noqa: E402
from loyalty_ledger.chain.artifacts import error_decoder  # noqa: E402
from loyalty_ledger.chain.deploy import add_brand, deploy_network  # noqa: E402
from loyalty_ledger.chain.sender import Sender, connect  # noqa: E402
from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings  # noqa: E402
from loyalty_ledger.indexer import run_indexer  # noqa: E402
from loyalty_ledger.programme import perks  # noqa: E402
from loyalty_ledger.store import Balance, Member, Pass, make_engine  # noqa: E402

OPERATOR_KEY, BRAND_KEY, RELAYER_KEY = ANVIL_DEV_KEYS[0], ANVIL_DEV_KEYS[1], ANVIL_DEV_KEYS[7]

# Issue 17's starting point (main before the work; quiet machine, uvicorn 2 workers, wrk 1 thread,
# 32 connections, 10,000 members): req/s, p99 ms, server CPU ms per request.
BEFORE = {
    "floor": (3732, 34.0, 0.47),
    "eligibility": (1026, 152.0, 1.73),
    "health": (600, float("nan"), 2.9),
}


def fake_address(i: int) -> str:
    return "0x" + (i + 1).to_bytes(20, "big").hex()


def seed_mirror(engine: Any, program: Any, n: int) -> list[str]:
    """n members straight into the mirror: registered, balance 0..999, a pass for half."""
    addrs = [fake_address(i) for i in range(n)]
    with engine.begin() as conn:
        conn.execute(
            insert(Member.__table__),
            [  # type: ignore[attr-defined]
                {"address": a, "registered": True, "frozen": False, "recovered_to": None}
                for a in addrs
            ],
        )
        conn.execute(
            insert(Balance.__table__),
            [  # type: ignore[attr-defined]
                {"token": program.points.lower(), "holder": a, "amount": (i * 37) % 1000}
                for i, a in enumerate(addrs)
            ],
        )
        conn.execute(
            insert(Pass.__table__),
            [  # type: ignore[attr-defined]
                {
                    "contract": program.pass_.lower(),
                    "token_id": 10_000 + i,
                    "owner": a,
                    "tier": i % 3,
                    "expires_at": 0,
                    "locked": True,
                }
                for i, a in enumerate(addrs)
                if i % 2 == 0
            ],
        )
    return addrs  # all-lower-case hex is a valid address form (no checksum to check)


@contextmanager
def api_server(env: dict[str, str], workers: int, factory: str) -> Iterator[tuple[str, int]]:
    """The app of `factory` served as `loyalty api serve --workers N` serves the API, in its own
    session on a free port; yields (base url, session id)."""
    port = free_port()
    code = (
        "from api.cli import run_workers; "
        f"run_workers({factory!r}, host='127.0.0.1', port={port}, workers={workers})"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "LOYALTY_API_PORT": str(port)},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("the API did not start")
        yield base, server.pid
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over rounds (errors summed)."""
    out: dict[str, Any] = {
        k: statistics.median(r[k] for r in runs)
        for k in ("requests", "seconds", "rps", "p50_ms", "p99_ms", "cpu_ms")
    }
    errors: dict[Any, int] = {}
    for r in runs:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    out["errors"] = errors
    return out


def show(name: str, r: dict[str, Any], floor: dict[str, Any] | None, before: str | None) -> None:
    """One line: the figures, their share of the floor, and issue 17's starting figures."""
    line = (
        f"{name:<32} {r['rps']:7.0f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms"
        f"  CPU {r.get('cpu_ms', float('nan')):5.2f} ms/req"
    )
    if floor is not None:
        line += f"  | {100 * r['rps'] / floor['rps']:5.1f}% of the floor"
    if before in BEFORE:
        rps, p99, cpu = BEFORE[before]
        line += f"  | issue 17 before: {rps} req/s, p99 {p99:.0f} ms, CPU {cpu:.2f} ms"
    if r["errors"]:
        line += f"  | errors: {r['errors']}"
    print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0, help="per route and round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--earn-members", type=int, default=100)
    ap.add_argument("--no-earn", action="store_true", help="reads only")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_api_"))
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}  dir: {tmp}")
    with Anvil(port=0) as node:
        w3 = connect(node.url)
        op = Sender(w3, OPERATOR_KEY, decoder=error_decoder())
        dep = deploy_network(w3, op)
        brand = Account.from_key(BRAND_KEY)
        program = add_brand(
            w3,
            op,
            dep,
            brand_id="acme",
            name="Acme",
            symbol="ACME",
            admin=brand.address,
            tiers=["Silver", "Gold", "Platinum"],
        )
        dep_file = tmp / "deployment.json"
        dep.save(dep_file)
        earners = [Account.create().address for _ in range(args.earn_members)]
        ledger.register_members(sender=op, deployment=dep, members=earners)
        settings = Settings(
            rpc_url=node.url,
            database_url=f"sqlite:///{tmp / 'mirror.db'}",
            deployment_file=dep_file,
            data_dir=tmp,
        )
        run_indexer(settings, follow=False, progress=False)  # schema + real checkpoint
        engine = make_engine(settings.database_url or "")
        t0 = time.perf_counter()
        addrs = seed_mirror(engine, program, args.members)
        print(f"seeded {args.members} members into the mirror in {time.perf_counter() - t0:.1f}s")
        perk = perks.create_perk(
            engine=engine,
            deployment=dep,
            brand_id="acme",
            values={
                "name": "free coffee",
                "min_points": 100,
                "min_tier": 1,
                "point_cost": 50,
                "per_member_limit": 3,
                "total_stock": 1_000_000,
            },
        )
        _, viewer = auth.create_api_key(
            engine=engine, kind="brand", brand_id="acme", roles=["viewer", "issuer"]
        )
        engine.dispose()

        env = {
            **os.environ,
            "LOYALTY_RPC_URL": node.url,
            "LOYALTY_DATABASE_URL": settings.database_url or "",
            "LOYALTY_DEPLOYMENT_FILE": str(dep_file),
            "LOYALTY_DATA_DIR": str(tmp),
            "LOYALTY_OPERATOR_KEY": OPERATOR_KEY,
            "LOYALTY_BRAND_KEY": BRAND_KEY,
            "LOYALTY_RELAYER_KEY": RELAYER_KEY,
            # Earning sent and awaited in the request (200), as this figure always measured;
            # the outbox's accepted and confirmed rates are benchmarks/bench_writes.py's.
            "LOYALTY_OUTBOX": "0",
        }
        hdr = {"X-API-Key": viewer}
        n, pid = len(addrs), perk["id"]

        def elig(i: int) -> tuple[str, str, None]:
            return "GET", f"/perks/{pid}/eligibility/{addrs[i % n]}", None

        def floor(i: int) -> tuple[str, str, None]:
            return "GET", f"/floor/perks/{pid}/eligibility/{addrs[i % n]}", None

        def routed(i: int) -> tuple[str, str, None]:  # a query string: past the hot path
            return "GET", f"/perks/{pid}/eligibility/{addrs[i % n]}?strict=false", None

        def health(i: int) -> tuple[str, str, None]:
            return "GET", "/health", None

        def strict(i: int) -> tuple[str, str, None]:
            return "GET", f"/perks/{pid}/eligibility/{addrs[i % n]}?strict=true", None

        def earn(i: int) -> tuple[str, str, dict[str, Any]]:
            return (
                "POST",
                "/brands/acme/earn/purchase",
                {
                    "member": earners[i % len(earners)],
                    "order_id": f"bench-{i}",
                    "amount": 150_000 + i,
                    "currency": "VND",
                    "items": 1 + i % 5,
                },
            )

        get = dict(concurrency=args.concurrency, seconds=args.seconds, paths=n, headers=hdr)
        reads = "wrk -t1" if have_wrk() else "asyncio raw client (no wrk)"
        factory = "benchmarks.floor_app:create"
        with api_server(env, args.workers, factory) as (base, sid):
            print(
                f"reads: {args.workers} worker process(es), concurrency {args.concurrency}, "
                f"load from {reads}, {n} members in turn; {args.rounds} rounds of "
                f"{args.seconds:.0f} s per route, routes interleaved; medians of the rounds"
            )
            loads = {"floor": floor, "eligibility": elig, "routed": routed, "strict": strict}
            loads["health"] = health
            for make in loads.values():  # warm every route once
                get_load(base, make, **dict(get, seconds=1.0))()
            rounds: dict[str, list[dict[str, Any]]] = {k: [] for k in loads}
            for _ in range(args.rounds):
                for name, make in loads.items():
                    rounds[name].append(measured(sid, get_load(base, make, **get)))
            fl = median_of(rounds["floor"])
            mirror, st = median_of(rounds["eligibility"]), median_of(rounds["strict"])
            show("floor (bare FastAPI route)", fl, None, "floor")
            show("eligibility (mirror)", mirror, fl, "eligibility")
            show("eligibility (FastAPI route only)", median_of(rounds["routed"]), fl, "eligibility")
            show("eligibility (strict)", st, fl, None)
            print(f"{'':<32} strict / mirror: {100 * st['rps'] / mirror['rps']:.0f}% (aim >= 50%)")
            show("/health", median_of(rounds["health"]), fl, "health")
            # A moving head: strict answers are remembered per head block only, so with a
            # block a second and members in turn, nearly every strict check reads the chain.
            w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[arg-type]
            try:
                moving = measured(sid, get_load(base, strict, **get))
            finally:  # back to a block per transaction (interval 0 alone mines nothing)
                w3.provider.make_request("evm_setIntervalMining", [0])  # type: ignore[arg-type]
                w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
            show("eligibility (strict, 1 s blocks)", moving, fl, None)
            print(f"{'':<32} strict / mirror: {100 * moving['rps'] / mirror['rps']:.0f}%")
        # Chain writes go through ONE process: several workers would each count the same
        # key's nonces (the API is served single-process by `serve`, as here).
        run = dict(concurrency=args.concurrency, headers=hdr, seconds=args.seconds)
        if args.no_earn:
            return
        with api_server(env, 1, factory) as (base, sid):
            r = measured(
                sid, lambda: asyncio.run(load_httpx(base, earn, max_requests=10**6, **run))
            )
            show("earn purchase (tx, 1 proc)", r, None, None)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
