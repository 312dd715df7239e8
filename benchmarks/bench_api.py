"""Benchmark of the API served by uvicorn: eligibility (mirror and strict/on-chain) and earn.

    .venv/bin/python benchmarks/bench_api.py [--members 10000] [--concurrency 32] [--seconds 10]

A private anvil and a fresh SQLite mirror in a temp dir. The 10,000 members are SEEDED STRAIGHT
INTO THE MIRROR TABLES (member, balance, pass) for speed: they are not on the chain, so strict
mode reads zeros for them (the same number of RPC calls as for a real member). The earn
benchmark uses members registered on chain and sends real transactions. The server runs in its
own process (uvicorn, `--workers`), the load comes from one asyncio + httpx process over
loopback, `--concurrency` requests in flight, bounded by `--seconds` and `--max-requests`.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
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


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) used so far by every process of session `sid` (Linux)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # after the ")" : state ppid pgrp session ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measured(sid: int, fn: Any) -> dict[str, Any]:
    """Run a load; add the server's CPU per request (independent of other load)."""
    c0 = session_cpu(sid)
    r = asyncio.run(fn)
    r["cpu_ms"] = (session_cpu(sid) - c0) * 1000 / max(1, r["requests"])
    return r


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] * 1000 if s else float("nan")


async def load(
    base: str,
    make: Any,
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    headers: dict[str, str],
) -> dict[str, Any]:
    """`concurrency` workers issue make(i) -> (method, url, json) until time or count runs out."""
    lat: list[float] = []
    errors: dict[int, int] = {}
    counter = iter(range(max_requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                method, url, body = make(i)
                t0 = time.perf_counter()
                r = await client.request(method, url, json=body)
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors[r.status_code] = errors.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {
        "requests": len(lat),
        "seconds": wall,
        "rps": len(lat) / wall,
        "p50_ms": pct(lat, 0.50),
        "p99_ms": pct(lat, 0.99),
        "errors": errors,
    }


async def load_raw(
    port: int,
    make: Any,
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    headers: dict[str, str],
) -> dict[str, Any]:
    """The same GET load from a minimal keep-alive HTTP/1.1 client (little client CPU)."""
    lat: list[float] = []
    errors: dict[int, int] = {}
    counter = iter(range(max_requests))
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                _method, url, _body = make(i)
                t0 = time.perf_counter()
                writer.write(f"GET {url} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                lat.append(time.perf_counter() - t0)
                if status != 200:
                    errors[status] = errors.get(status, 0) + 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    return {
        "requests": len(lat),
        "seconds": wall,
        "rps": len(lat) / wall,
        "p50_ms": pct(lat, 0.50),
        "p99_ms": pct(lat, 0.99),
        "errors": errors,
    }


def show(name: str, r: dict[str, Any]) -> None:
    print(
        f"{name:<28} {r['requests']:>7} req in {r['seconds']:5.1f}s  {r['rps']:8.0f} req/s  "
        f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
        f"server CPU {r.get('cpu_ms', float('nan')):5.2f} ms/req  non-200: {r['errors'] or 0}"
    )


@contextmanager
def api_server(env: dict[str, str], workers: int) -> Iterator[tuple[str, int]]:
    """`loyalty api serve` in its own session on a free port; yields (base url, session id)."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from api.cli import api_app; api_app()",
            "serve",
            "--workers",
            str(workers),
        ],
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--earn-members", type=int, default=100)
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

        common = dict(concurrency=args.concurrency, headers=hdr)
        run = dict(seconds=args.seconds, max_requests=args.max_requests, **common)
        port = 0
        with api_server(env, args.workers) as (base, sid):
            port = int(base.rsplit(":", 1)[1])
            print(
                f"reads: uvicorn with {args.workers} worker process(es); "
                f"concurrency {args.concurrency}; loopback"
            )
            asyncio.run(load(base, elig, seconds=1.0, max_requests=2000, **common))  # warm-up
            show("eligibility (mirror, httpx)", measured(sid, load(base, elig, **run)))
            show("eligibility (mirror, raw)", measured(sid, load_raw(port, elig, **run)))
            show("eligibility (strict, raw)", measured(sid, load_raw(port, strict, **run)))
        # Chain writes go through ONE process: several workers would each count the same
        # key's nonces (the API is served single-process by `serve`, as here).
        with api_server(env, 1) as (base, sid):
            show("earn purchase (tx, 1 proc)", measured(sid, load(base, earn, **run)))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
