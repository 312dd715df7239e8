"""CPU per earn request in process: the ASGI app called directly (no sockets, no HTTP parser).

A private anvil with one brand, the API with the outbox on (`LOYALTY_SUBMITTER=0`), and `n`
earns posted through the ASGI interface by `concurrency` coroutines (a new order id each),
beside the floor route (`writes_app`) the same way. Prints the process CPU (all threads) per
request of each; `--profile FILE` writes a pyinstrument HTML (or .prof for cProfile) of the
earn loop. For comparing the request layer's cost before and after a change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import addresses, network, register_all  # noqa: E402
from benchmarks.bench_writes import BRAND, database  # noqa: E402
from loyalty_ledger import auth  # noqa: E402
from loyalty_ledger.config import ANVIL_DEV_KEYS  # noqa: E402
from loyalty_ledger.store import make_engine, migrate  # noqa: E402

SEEN: dict[int, bytes] = {}


async def post(app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """One POST through the ASGI interface; returns the status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 1234), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"x"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), *headers],
    }  # fmt: skip
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif status >= 300 and status not in SEEN:  # the first answer of each unexpected status
            SEEN[status] = message.get("body", b"")[:300]
            print(f"  {status}: {SEEN[status]!r}", flush=True)

    await app(scope, receive, send)
    return status


async def load(app: Any, path: str, n: int, conc: int, members: list[str], key: str) -> dict:
    tag = uuid.uuid4().hex[:8]
    headers = [(b"x-api-key", key.encode())]
    statuses: dict[int, int] = {}
    it = iter(range(n))

    async def worker() -> None:
        for i in it:
            o = {"member": members[i % len(members)], "order_id": f"{tag}-{i}",
                 "amount": 10_000 * (1 + i % 5), "currency": "VND", "items": 1}  # fmt: skip
            s = await post(app, path, json.dumps(o).encode(), headers)
            statuses[s] = statuses.get(s, 0) + 1

    c0, w0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"cpu_us": cpu / n * 1e6, "rps": n / wall, "statuses": statuses}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--databases", default="sqlite,postgresql")
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--profile", default="")
    args = ap.parse_args()
    members = addresses(50)
    with tempfile.TemporaryDirectory() as tmpdir, network() as b:
        tmp = Path(tmpdir)
        register_all(b, members)
        dep_file = tmp / "deployment.json"
        b.deployment.save(dep_file)
        for kind in args.databases.split(","):
            with database(kind, tmp) as url:
                run(kind, url, b, dep_file, tmp, members, args)


def run(kind: str, url: str, b: Any, dep_file: Path, tmp: Path, members: list[str], args: Any):
    engine = make_engine(url)
    migrate(engine)
    key = auth.create_api_key(engine=engine, kind="brand", brand_id=BRAND, roles=["issuer"])[1]
    engine.dispose()
    os.environ |= {
        "LOYALTY_RPC_URL": b.w3.provider.endpoint_uri,
        "LOYALTY_DATABASE_URL": url,
        "LOYALTY_DEPLOYMENT_FILE": str(dep_file),
        "LOYALTY_DATA_DIR": str(tmp / ".data"),
        "LOYALTY_OPERATOR_KEY": ANVIL_DEV_KEYS[0],
        "LOYALTY_OUTBOX": "1",
        "LOYALTY_SUBMITTER": "0",
    }
    from benchmarks.writes_app import create
    from loyalty_ledger.config import get_settings

    getattr(get_settings, "cache_clear", lambda: None)()
    app = create()
    floor, earn = f"/brands/{BRAND}/floor/earn/purchase", f"/brands/{BRAND}/earn/purchase"

    async def go() -> None:
        async with app.router.lifespan_context(app):
            await load(app, floor, 300, args.concurrency, members, key)
            await load(app, earn, 300, args.concurrency, members, key)
            for name, path in (("floor", floor), ("earn", earn)):
                if name == "earn" and args.profile:
                    r = await profiled(app, path, args, members, key)
                else:
                    r = await load(app, path, args.n, args.concurrency, members, key)
                line = f"{kind:<10} {name:<6} {r['cpu_us']:7.0f} µs CPU/request  "
                print(line + f"{r['rps']:6.0f} req/s (1 process)  {r['statuses']}", flush=True)

    asyncio.run(go())
    app.state.api.engine.dispose()


async def profiled(app: Any, path: str, args: Any, members: list[str], key: str) -> dict:
    if args.profile.endswith(".prof"):
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
        r = await load(app, path, args.n, args.concurrency, members, key)
        prof.disable()
        prof.dump_stats(args.profile)
        return r
    from pyinstrument import Profiler

    with Profiler(async_mode="enabled") as p:
        r = await load(app, path, args.n, args.concurrency, members, key)
    Path(args.profile).write_text(p.output_text(unicode=False, show_all=False))
    return r


if __name__ == "__main__":
    main()
