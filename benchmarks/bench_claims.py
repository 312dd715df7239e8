"""In-process benchmark of the earn claim's SQL (issue 13): CPU per claim, no HTTP, no chain.

Each claim goes the way a queued `POST /brands/{id}/earn/purchase` goes below the router:
`rules_cache.priced` (the brand's rules from memory, checked current in the claim's
transaction), then `claim_group.claim_grouped` with an outbox issuer (rules priced, intent,
record and lines in one transaction, committed with the claims waiting meanwhile). `--threads`
claim at once (as the API's request threads do), so claims meet in groups. Prints, per
database, claims per second and this process's CPU per claim (`time.process_time`; the
PostgreSQL server's own CPU is not counted); `--profile` writes a cProfile of the 1-thread runs.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import addresses  # noqa: E402
from loyalty_ledger.ledger import outbox  # noqa: E402
from loyalty_ledger.programme import earn, rules_cache  # noqa: E402
from loyalty_ledger.programme.claim_group import claim_grouped  # noqa: E402
from loyalty_ledger.store import make_engine, migrate  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BRAND = "bench"
PROGRAM: Any = SimpleNamespace(
    brand_id=BRAND, points="0x" + "6" * 40, pass_="0x000000000000000000000000000000000000dEaD"
)
SENDER: Any = SimpleNamespace(address="0x" + "5" * 40, _check_target=lambda _to: None)


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        eng = make_engine(f"sqlite:///{tmp / f'claims-{uuid.uuid4().hex[:6]}.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    schema = f"benchclaims_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG)
    with admin.begin() as c:
        c.execute(text(f"create schema {schema}"))
    try:
        eng = make_engine(f"{PG}?options=-csearch_path%3D{schema}")
        migrate(eng)
        yield eng
        eng.dispose()
    finally:
        with admin.begin() as c:
            c.execute(text(f"drop schema {schema} cascade"))
        admin.dispose()


def one_claim(engine: Engine, member: str, order_id: str, amount: int) -> None:
    """A queued purchase earn, as `earn.earn_purchase(queued=True)` claims it."""
    queue = outbox.Issuer(SENDER, PROGRAM)

    def attempt(plan: Any, snap: rules_cache.Snapshot, last: bool) -> Any:
        values = earn.purchase_values(snap.rule, member=member, order_id=order_id,
                                      amount=amount, currency="VND", items=1)  # fmt: skip
        rules, version = (None, None) if last else (snap.rules, snap.version)
        got = claim_grouped(engine, {"brand_id": BRAND, **values}, queue, plan, rules, version)
        assert got is not None
        return got

    rules_cache.priced(engine, PROGRAM, attempt)


def run(engine: Engine, members: list[str], threads: int, n: int) -> tuple[float, float]:
    """`n` claims from `threads` threads: (claims per second, CPU ms per claim)."""
    tag = uuid.uuid4().hex[:6]
    counter = iter(range(n))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            one_claim(engine, members[i % len(members)], f"{tag}-{i}", 10_000 * (1 + i % 5))

    cpu, wall = time.process_time(), time.perf_counter()
    if threads == 1:  # in this thread (so that a profiler started here sees it)
        worker()
    pool = [threading.Thread(target=worker) for _ in range(threads if threads > 1 else 0)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return n / wall, 1000 * cpu / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--databases", default="sqlite,postgresql")
    ap.add_argument("--claims", type=int, default=3000)
    ap.add_argument("--threads", default="1,16", help="comma-separated thread counts")
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--profile", help="cProfile the 1-thread runs into PROFILE-<db>.prof")
    args = ap.parse_args()
    print(f"bench_claims: load average {os.getloadavg()}; {os.cpu_count()} cores")
    members = addresses(args.members)
    with tempfile.TemporaryDirectory() as tmpdir:
        for kind in args.databases.split(","):
            with database(kind, Path(tmpdir)) as engine:
                earn.set_rule(engine=engine, brand_id=BRAND, currency="VND",
                              amount_per_point=10_000, bonuses={})  # fmt: skip
                run(engine, members, 4, 300)  # warm-up: pool, caches, statements
                for threads in (int(t) for t in args.threads.split(",")):
                    profiler = cProfile.Profile() if args.profile and threads == 1 else None
                    if profiler is not None:
                        profiler.enable()
                    rate, cpu = run(engine, members, threads, args.claims)
                    if profiler is not None:
                        profiler.disable()
                        profiler.dump_stats(f"{args.profile}-{kind}.prof")
                    print(f"  {kind:<10} threads {threads:>2}: {args.claims} claims "
                          f"{rate:7.0f}/s  CPU {cpu:5.3f} ms/claim  "
                          f"(load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
