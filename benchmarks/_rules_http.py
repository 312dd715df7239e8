"""The end-to-end figure of `bench_rules`: `POST /brands/{id}/earn/purchase` over HTTP with
20 active rules, beside the same request to a brand priced by the linear rate alone, served by
the same uvicorn workers in the same run and loaded by the same low-CPU client.

Served as `bench_writes` serves the API (2 workers, `LOYALTY_OUTBOX=1`, `LOYALTY_SUBMITTER=0`):
a request runs the whole accept path (key, body, claim, the brand's rules with their limits,
budgets and lines, the outbox intent, one SQL transaction) and answers 202; sending the queued
issues is the same for both brands (`bench_writes` measures it).
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import addresses, network, register_all
from benchmarks._load import post_load
from benchmarks.bench_writes import database, env_for, served, show
from loyalty_ledger import auth
from loyalty_ledger.chain.deploy import add_brand
from loyalty_ledger.programme import earn
from loyalty_ledger.store import make_engine, migrate

RULES, LINEAR, RATE = "bench", "linear", 10_000


def uptime() -> str:
    """The machine's `uptime` line (its load averages): the machine is shared."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        import os

        return f"load average: {os.getloadavg()}"


def _body(members: list[str], tag: str) -> Callable[[int], bytes]:
    rnd = random.Random(tag)
    orders = [
        {
            "amount": rnd.randrange(10_000, 3_000_000),
            "channel": rnd.choice(["in_store", "online", "app"]),
            "store_id": f"s{rnd.randrange(1, 12)}",
            "tags": rnd.sample(["coffee", "tea", "cake", "mug"], 2),
        }
        for _ in range(997)
    ]

    def body(i: int) -> bytes:
        o = orders[i % len(orders)] | {"member": members[i % len(members)]}
        o |= {"order_id": f"{tag}-{i}", "currency": "VND", "items": 1}
        return json.dumps(o).encode()

    return body


def _run_db(
    kind: str, b: Any, members: list[str], args: Any, tmp: Path, setup: Callable[..., None]
) -> dict[str, dict[str, Any]]:
    dep_file = tmp / "deployment.json"
    b.deployment.save(dep_file)
    with database(kind, tmp) as url:
        engine = make_engine(url)
        migrate(engine)
        setup(engine, RULES)  # the base rate, the launch campaign, the 20 rules
        earn.set_rule(
            engine=engine, brand_id=LINEAR, currency="VND", amount_per_point=RATE, bonuses={}
        )
        keys = {
            bid: auth.create_api_key(engine=engine, kind="brand", brand_id=bid, roles=["issuer"])[1]
            for bid in (RULES, LINEAR)
        }
        engine.dispose()
        env = env_for(b, url, dep_file, tmp, 500)
        out: dict[str, dict[str, Any]] = {}
        print(f"  {kind}: {uptime()}", flush=True)
        with served(env, args.http_workers) as port:
            for name, bid in (("linear rate (floor)", LINEAR), ("20 rules", RULES)):
                kw = {"concurrency": args.http_concurrency, "ok": (202,)}
                kw["headers"] = {"X-API-Key": keys[bid]}
                path, tag = f"/brands/{bid}/earn/purchase", uuid.uuid4().hex[:6]
                warm = _body(members, f"{tag}-warm")
                post_load(port, path, warm, seconds=1.5, max_requests=300, **kw)  # type: ignore[arg-type]
                out[name] = post_load(
                    port,
                    path,
                    _body(members, tag),
                    seconds=args.http_seconds,
                    max_requests=args.http_max,
                    **kw,  # type: ignore[arg-type]
                )
                show(f"{kind} {name}", out[name])
        print(f"  {kind}: after: {uptime()}", flush=True)
    return out


def bench_http(args: Any, setup: Callable[..., None]) -> None:
    """The HTTP earn with 20 rules beside the linear rate, on SQLite then PostgreSQL."""
    print(
        f"HTTP earn end to end (accept path, {args.http_workers} workers, "
        f"c={args.http_concurrency}, {args.http_seconds:g} s each):",
        flush=True,
    )
    members = addresses(200, "bench-rules-http")
    with tempfile.TemporaryDirectory() as tmpdir, network() as b:
        add_brand(
            b.w3,
            b.operator,
            b.deployment,
            brand_id=LINEAR,
            name="Linear Points",
            symbol="LIN",
            admin=b.operator.address,
            tiers=["silver", "gold"],
        )
        register_all(b, members)
        for kind in args.http_databases.split(","):
            try:
                got = _run_db(kind, b, members, args, Path(tmpdir), setup)
            except Exception as exc:  # no PostgreSQL server: say so, SQLite's figures stand
                print(f"  {kind} skipped: {type(exc).__name__}: {exc}", flush=True)
                continue
            floor, rules = got["linear rate (floor)"]["rps"], got["20 rules"]["rps"]
            print(
                f"  {kind}: HTTP earn with 20 rules {rules:,.0f} earns/s "
                f"(floor: the linear rate {floor:,.0f}/s; {rules / floor:.0%} of it)",
                flush=True,
            )
