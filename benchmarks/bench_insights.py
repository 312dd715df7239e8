"""Insights figures: each metric endpoint and the dashboard's first load (to charts drawn),
at 10,000 members and ~200,000 ledger entries, on SQLite and PostgreSQL.

The data set is the demo generator's world (`demo_data.simulate`) written straight into the
mirror and earn tables (no chain: seeding 200k entries through anvil is not what is measured);
like the demo's, every ledger entry was mined an hour ago and each earn record carries the
transaction of its points.
Run: .venv/bin/python benchmarks/bench_insights.py [--members 10000 --months 12] [--no-browser]
     [--from 2026-01-01 --to 2027-01-01]  (default: each endpoint's default period)
     [--db sqlite --db-file /tmp/b.db]  (seeded once, then reused: the members and months it has)
     [--browser-only --rounds 3 --compare OLD_STATIC_DIR]  (the first load only; OLD: e.g. main's
     api/static, measured in the same rounds as this tree's page)
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.deps import ApiOptions
from api.routers.pages import STATIC
from benchmarks import _first_load
from loyalty_ledger import auth
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.demo.seed import _write_sql
from loyalty_ledger.demo.world import BRANDS, simulate
from loyalty_ledger.indexer.rollups import rebuild as rebuild_rollups
from loyalty_ledger.store import bulk, make_engine, migrate
from loyalty_ledger.store.models import (
    Balance,
    ContractState,
    IndexerState,
    LedgerEntry,
    Member,
    Pass,
    Tier,
)
from tests.insights.conftest import build_app, make_settings

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Before issue 17's rollups of the points and the one-pass lifecycle queries: main on
# 2026-12-07, this script, 10,000 members x 16 months, SQLite, load 1.6-4.3, after a new
# earning (median wall / CPU ms); the issue's own figures are its text's.
TODAY = {
    "clv": "232 / 167",
    "churn": "282 / 203 (issue: 538 SQLite, 299 PG)",
    "retention": "79 / 75 (issue: 378 / 336)",
    "basket": "29 / 28 (issue: 249 / 193)",
    "frequency": "27 / 26",
    "top-customers": "35 / 35",
    "nps": "6 / 6",
    "points": "522 / 513 (issue: 280 / 164)",
    "dashboard": "1,601 / 1,087",
}
TODAY_FIRST_LOAD = "1,545-1,927 ms (issue: 2.0-2.6 s)"
FLOOR = "settings"  # the same auth and period parsing, one small read: the app's own floor
ENDPOINTS = (
    *("clv", "churn", "retention", "basket", "frequency", "top-customers", "nps", "points"),
    "dashboard",  # every metric in one answer (issue 17)
)


def deployment() -> Deployment:
    programs = {}
    for n, spec in enumerate(BRANDS):
        h = f"{n + 1:02x}"
        programs[spec.brand_id] = Program(
            brand_id=spec.brand_id,
            points="0x" + ("a" + h[1]) * 20,
            pass_="0x" + ("b" + h[1]) * 20,
            admin="0x" + "cc" * 20,
            block=1,
            name=spec.name,
        )
    return Deployment(
        chain_id=31337,
        registry="0x" + "dd" * 20,
        forwarder="0x" + "ee" * 20,
        start_block=0,
        programs=programs,
    )


def seed(engine, dep: Deployment, members: int, months: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    world = simulate(members=members, months=months, seed=11)
    entries, balances = [], defaultdict(int)
    block = 100
    mined = int(time.time()) - 3600  # like the demo: the whole history issued on chain lately

    def add(kind, token, account, amount, counterparty=None, reason=None):  # type: ignore[no-untyped-def]
        nonlocal block
        block += 1
        entries.append(
            (
                block,
                0,
                "0x" + f"{block:064x}",
                token,
                kind,
                account.lower(),
                counterparty.lower() if counterparty else None,
                amount,
                reason,
                mined,
            )
        )

    for r in world.records:
        if int(r["points"]) > 0:  # type: ignore[call-overload]
            tok = dep.program(str(r["brand_id"])).points.lower()
            add("issue", tok, str(r["member"]), int(r["points"]), reason=str(r["reason"]))  # type: ignore[call-overload]
            balances[(tok, str(r["member"]).lower())] += int(r["points"])  # type: ignore[call-overload]
            r["tx_hash"], r["block_number"] = entries[-1][2], block  # the earning's transaction
    write_records(world, engine)
    for bid, i, cost, _k in world.redemptions:
        tok, a = dep.program(bid).points.lower(), world.accounts[i].address
        add("redeem", tok, a, cost)
        balances[(tok, a.lower())] -= cost
    for bid, i, to, amount, _memo in world.gifts:
        tok, a, b = (
            dep.program(bid).points.lower(),
            world.accounts[i].address,
            world.accounts[to].address,
        )
        add("gift", tok, a, amount, b)
        balances[(tok, a.lower())] -= amount
        balances[(tok, b.lower())] += amount
    for bid, m, n in world.forfeits:
        tok = dep.program(bid).points.lower()
        add("forfeit", tok, m, n)
        balances[(tok, m.lower())] -= n
    with engine.begin() as conn:
        bulk.write(
            conn,
            LedgerEntry.__table__,
            [
                "block_number",
                "log_index",
                "tx_hash",
                "token",
                "kind",  # type: ignore[attr-defined]
                "account",
                "counterparty",
                "amount",
                "reason",
                "block_time",
            ],
            entries,
            conflict=["block_number", "log_index"],
            assume_new=True,
        )
        bulk.write(
            conn,
            Balance.__table__,
            ["token", "holder", "amount"],  # type: ignore[attr-defined]
            [(t, h, v) for (t, h), v in balances.items() if v > 0],
            conflict=["token", "holder"],
        )
        supply = defaultdict(int)
        for (t, _h), v in balances.items():
            supply[t] += v
        bulk.write(
            conn,
            ContractState.__table__,
            ["address", "total_supply", "paused", "transferable", "tier_count"],  # type: ignore[attr-defined]
            [(t, v, False, False, 0) for t, v in supply.items()],
            conflict=["address"],
        )
        tiers, passes = [], []
        for spec in BRANDS:
            p = dep.program(spec.brand_id).pass_.lower()
            tiers += [(p, i, name) for i, name in enumerate(spec.tiers)]
        for n, ((bid, m), (tier, exp)) in enumerate(world.passes.items()):
            passes.append((dep.program(bid).pass_.lower(), n + 1, m.lower(), tier, exp, True))
        bulk.write(
            conn, Tier.__table__, ["contract", "tier", "name"], tiers, conflict=["contract", "tier"]
        )  # type: ignore[attr-defined]
        bulk.write(
            conn,
            Pass.__table__,
            ["contract", "token_id", "owner", "tier", "expires_at", "locked"],  # type: ignore[attr-defined]
            passes,
            conflict=["contract", "token_id"],
        )
        bulk.write(
            conn,
            Member.__table__,
            ["address", "registered", "frozen"],  # type: ignore[attr-defined]
            [(a.address.lower(), True, False) for a in world.accounts],
            conflict=["address"],
        )
        bulk.write(
            conn,
            IndexerState.__table__,
            [
                "id",
                "chain_id",
                "genesis_hash",
                "registry_address",  # type: ignore[attr-defined]
                "start_block",
                "checkpoint_block",
            ],
            [(1, 31337, "0x" + "00" * 32, dep.registry, 0, block)],
            conflict=["id"],
        )
        rebuild_rollups(conn)  # what the indexer keeps with the entries it writes
    return {
        "members": members,
        "ledger_entries": len(entries),
        "earn_records": len(world.records),
        "surveys": len(world.surveys),
        "passes": len(passes),
    }


def write_records(world, engine) -> None:  # type: ignore[no-untyped-def]
    """The earn records, as the demo writes them; on PostgreSQL set-based: the row triggers
    (rollups folded record by record, ~1 ms a row) off for the load, then the rollups
    `earn_month` and `earn_member` folded in one statement each (migration 0011's fill) and the
    triggers on again. `earn_placed` is kept by the ledger entries' statement triggers (the
    issues are written after the records)."""
    if engine.dialect.name != "postgresql":
        _write_sql(world, engine)
        return
    fold = importlib.import_module("loyalty_ledger.store.migrations.versions.0011_earn_rollups")
    with engine.begin() as c:
        c.execute(text("ALTER TABLE earn_record DISABLE TRIGGER USER"))
    try:
        _write_sql(world, engine)
    finally:
        with engine.begin() as c:
            c.execute(text("ALTER TABLE earn_record ENABLE TRIGGER USER"))
    with engine.begin() as c:
        c.execute(text("DELETE FROM earn_month"))
        c.execute(text("DELETE FROM earn_member"))
        c.execute(
            text(f"INSERT INTO earn_month ({fold.COLS}) {fold.fold_sql('postgresql', '1 = 1')}")
        )
        every = fold.fold_sql("postgresql", "1 = 1", by_month=False)
        c.execute(text(f"INSERT INTO earn_member ({fold.MEMBER_COLS}) {every}"))
        c.execute(text("UPDATE change_counter SET n = n + 1 WHERE name = 'offchain'"))


def new_head(engine) -> None:  # type: ignore[no-untyped-def]
    """A commit of the indexer (a new block): the points economy is computed again."""
    with engine.begin() as c:
        c.execute(text("UPDATE indexer_state SET checkpoint_block = checkpoint_block + 1"))


def new_earning(engine) -> None:  # type: ignore[no-untyped-def]
    """A write to the earn records (and a new block): every metric is computed again."""
    new_head(engine)
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE earn_record SET items_count = items_count "
                "WHERE id = (SELECT min(id) FROM earn_record)"
            )
        )


CHANGES = (("after a new earning", new_earning), ("after a new head", new_head), ("kept", None))


def time_endpoints(
    client: TestClient, engine, key: str, brand: str, runs: int, query: str = ""
) -> dict[str, dict[str, tuple[float, float, float]]]:  # type: ignore[no-untyped-def]
    """Per case (after a new earning, after a new head, nothing changed) and endpoint: median
    and minimum wall time, and the median CPU time of this process (the API and SQLite run in
    it; on a shared machine it moves less than the wall time), in ms."""
    out: dict[str, dict[str, tuple[float, float, float]]] = {c: {} for c, _ in CHANGES}
    for name in (FLOOR, *ENDPOINTS):
        url = f"/brands/{brand}/insights/{name}{query}"
        client.get(url, headers={"X-API-Key": key}).raise_for_status()  # warm
        for case, change in CHANGES:
            wall, cpu = [], []
            for _ in range(runs):
                if change is not None:
                    change(engine)
                t, c = time.perf_counter(), time.process_time()
                client.get(url, headers={"X-API-Key": key}).raise_for_status()
                wall.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            out[case][name] = (statistics.median(wall), min(wall), statistics.median(cpu))
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def open_db(kind: str, args: argparse.Namespace, tmp: Path) -> tuple[str, Any, str | None]:
    """The database's URL, engine and PostgreSQL schema (None: SQLite), seeded; a SQLite
    `--db-file` that was seeded before is reused as it is."""
    schema = None
    if kind == "sqlite":
        url = f"sqlite:///{Path(args.db_file).resolve() if args.db_file else tmp / 'bench.db'}"
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with create_engine(PG_URL).begin() as c:
            c.execute(text(f"create schema {schema}"))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url, pool_size=10) if kind != "sqlite" else make_engine(url)
    migrate(engine)
    with engine.connect() as c:
        seeded = c.execute(text("SELECT count(*) FROM indexer_state")).scalar()
    if kind == "sqlite" and args.db_file and seeded:
        print(f"\n== {kind}: reused {args.db_file} (as seeded before)")
        return url, engine, schema
    t = time.perf_counter()
    sizes = seed(engine, deployment(), args.members, args.months)
    if kind == "postgresql":  # the steady state autovacuum keeps: index-only reads
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("vacuum analyze"))
    print(f"\n== {kind}: seeded {sizes} in {time.perf_counter() - t:.1f} s")
    return url, engine, schema


def print_endpoints(times: dict[str, dict[str, tuple[float, float, float]]]) -> None:
    for case, per in times.items():
        floor = per.pop(FLOOR)
        print(
            f"  {case}: (floor: GET .../insights/{FLOOR} median {floor[0]:.1f} ms, CPU"
            f" {floor[2]:.1f})"
        )
        for name, (ms, low, cpu) in per.items():
            today = f" | today {TODAY[name]}" if case == CHANGES[0][0] else ""
            print(
                f"    GET /brands/coffee/insights/{name:<14} median {ms:7.1f} ms"
                f"  (min {low:7.1f}, CPU {cpu:7.1f})  | aim < 50 ms{today}"
            )


def run(kind: str, args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp())
    url, engine, schema = open_db(kind, args, tmp)
    try:
        dep = deployment()
        port = free_port()
        settings = make_settings(url, tmp).model_copy(update={"api_port": port})
        dep.save(settings.deployment_file)
        app = build_app(
            settings,
            engine,
            ApiOptions(siwe_domain=f"127.0.0.1:{port}", siwe_uri=f"http://127.0.0.1:{port}"),
        )
        key = auth.create_api_key(engine=engine, kind="brand", brand_id="coffee", roles=["viewer"])[
            1
        ]
        client = TestClient(app)
        query = "&".join(
            f"{k}={v}" for k, v in (("from", args.start), ("to", args.end)) if v is not None
        )
        print(f"  period: {query or 'the default (running: answers are as of now)'}")
        if not args.browser_only:
            print_endpoints(
                time_endpoints(
                    client, engine, key, "coffee", args.runs, f"?{query}" if query else ""
                )
            )
        if not args.no_browser and os.path.exists("/usr/bin/chromium"):
            # A server that has answered before (its routes built), as a brand's would be.
            client.get("/dashboard").raise_for_status()
            pages = {"this": STATIC} | ({"compared": Path(args.compare)} if args.compare else {})
            hash_ = f"brand=coffee&key={key}" + (f"&{query}" if query else "")
            changes = (lambda: new_earning(engine), lambda: new_head(engine))
            results = _first_load.measure(settings, app, changes, hash_, args.rounds, pages)
            _first_load.report(results, TODAY_FIRST_LOAD)
    finally:
        engine.dispose()
        if args.keep:
            print(f"  kept: {url}")
        elif schema:
            with create_engine(PG_URL).begin() as c:
                c.execute(text(f"drop schema {schema} cascade"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the database (print its URL)")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--from", dest="start", help="period start YYYY-MM-DD (endpoints only)")
    ap.add_argument("--to", dest="end", help="period end YYYY-MM-DD, exclusive")
    ap.add_argument("--db-file", help="SQLite: seed this file once, then reuse it")
    ap.add_argument("--browser-only", action="store_true", help="only the dashboard's first load")
    ap.add_argument("--rounds", type=int, default=3, help="first loads per case (new browsers)")
    ap.add_argument("--compare", help="another page folder measured alike (e.g. main's api/static)")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()} (2 cores; the machine may be shared)")
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        run(kind, args)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
