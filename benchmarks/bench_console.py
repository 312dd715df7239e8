"""Console figures at 10,000 members: the console's first load (page, scripts and the API calls
it makes on open), member search, a segment count, and notifications sent per second (into an
in-process SMTP server), each beside a floor measured in the same run.

The members are written straight into SQL (balances, passes, ~5 purchases each, a profile for
six in ten, most with consent): no chain, which is not what is measured.
Run: .venv/bin/python benchmarks/bench_console.py [--members 10000] [--pg] [--mails 1000]
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import smtplib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from eth_utils import keccak, to_checksum_address
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.deps import ApiOptions
from api.main import create_app
from loyalty_ledger import auth
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.config import Settings
from loyalty_ledger.crm import deliver, notify
from loyalty_ledger.crm.facts import member_facts
from loyalty_ledger.store import make_engine, migrate
from loyalty_ledger.store import models as m
from loyalty_ledger.store.crm_tables import T_PROFILE
from loyalty_ledger.store.offchain import EarnRecord, table
from tests.crm.receivers import Inbox, smtp_server

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = int(time.time())
DAY = 86_400
PROGRAM = Program("acme", "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20, 0, "Acme")
RULES = {
    "conditions": [
        {"field": "days_since_purchase", "op": ">", "value": 30},
        {"field": "balance", "op": ">=", "value": 50},
        {"field": "consent", "op": "==", "value": True},
    ]
}


@functools.cache
def addr(i: int) -> str:
    """Member i's address, checksummed as the earn records and profiles store it."""
    return to_checksum_address(keccak(text=f"member-{i}")[12:])


def seed(engine: Engine, n: int) -> None:
    rng = random.Random(5)
    bal, pas = m.Balance.__table__, m.Pass.__table__  # type: ignore[attr-defined]
    earn, prof = [], []
    for i in range(1, n + 1):
        a = addr(i)
        for k in range(rng.randint(1, 9)):
            t = NOW - rng.randint(1, 365) * DAY
            earn.append(
                {
                    "brand_id": "acme",
                    "idem_key": f"{i}-{k}",
                    "member": a,
                    "reason": "purchase",
                    "points": 5,
                    "order_amount": rng.randint(1, 50) * 10_000,
                    "currency": "VND",
                    "status": "confirmed",
                    "created_at": t,
                    "ordered_at": t,
                }
            )
        if rng.random() < 0.6:
            prof.append(
                {
                    "brand_id": "acme",
                    "member": a,
                    "name": f"Member {i}",
                    "email": f"m{i}@example.org",
                    "phone": f"+8490{i:07d}",
                    "channel": "email",
                    "consent": rng.random() < 0.8,
                    "birthday": None,
                    "birth_month": rng.randint(1, 12),
                    "updated_at": NOW,
                }
            )
    with engine.begin() as c:
        c.execute(
            insert(bal),
            [
                {"token": PROGRAM.points, "holder": addr(i).lower(), "amount": rng.randint(0, 500)}
                for i in range(1, n + 1)
            ],
        )
        c.execute(
            insert(pas),
            [
                {
                    "contract": PROGRAM.pass_,
                    "token_id": i,
                    "owner": addr(i).lower(),
                    "tier": rng.randint(0, 3),
                    "expires_at": 0,
                    "locked": True,
                }
                for i in range(1, n + 1)
            ],
        )
        for s in range(0, len(earn), 5000):
            c.execute(insert(table(EarnRecord)), earn[s : s + 5000])
        c.execute(insert(T_PROFILE), prof)


def timed(fn: Callable[[], object], runs: int) -> float:
    """Median milliseconds of `runs` calls (after one warm-up)."""
    fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def bench_api(url: str, engine: Engine, tmp: Path, n: int) -> None:
    dep = tmp / "deployment.json"
    Deployment(31337, "0x" + "c1" * 20, "0x" + "c2" * 20, 0, programs={"acme": PROGRAM}).save(dep)
    settings = Settings(
        rpc_url="http://127.0.0.1:9", database_url=url, deployment_file=dep, data_dir=tmp
    )
    app = create_app(settings, options=ApiOptions("testserver", "http://testserver"), engine=engine)
    key = auth.create_api_key(engine=engine, kind="brand", brand_id="acme", roles=["viewer"])[1]
    h = {"X-API-Key": key}
    with TestClient(app) as c:

        def first_load() -> None:
            for path in (
                "/console",
                "/static/common.js",
                "/static/console.js",
                "/static/style.css",
                "/static/console.css",
            ):
                assert c.get(path).status_code == 200
            assert c.get("/brands/acme/access", headers=h).status_code == 200
            assert c.get("/brands/acme/perks", headers=h).status_code == 200

        floor = timed(lambda: c.get("/brands/acme/access", headers=h), 50)
        print(f"floor: one authenticated API call (GET /brands/acme/access): {floor:.2f} ms")
        load = timed(first_load, 20)
        print(f"console first load (page, 4 static files, access, perks): {load:.1f} ms")
        q = {
            "email": "m777@example.org",
            "phone": "+84 90 000 0777",
            "address prefix": addr(777)[:10],
        }
        for what, value in q.items():
            ms = timed(
                lambda v=value: c.get("/brands/acme/members", params={"q": v}, headers=h), 30
            )
            print(f"member search by {what} over {n:,} members: {ms:.1f} ms")
        page = timed(lambda: c.get(f"/brands/acme/members/{addr(777)}", headers=h), 10)
        print(f"a member's 360° page: {page:.1f} ms")
        count = c.post("/brands/acme/segments/count", json={"rules": RULES}, headers=h).json()[
            "count"
        ]
        ms = timed(
            lambda: c.post("/brands/acme/segments/count", json={"rules": RULES}, headers=h), 5
        )
        print(f"segment count over {n:,} members (3 conditions, {count:,} match): {ms:.0f} ms")
        facts = timed(lambda: member_facts(engine=engine, program=PROGRAM), 5)
        print(f"  of which reading the members' facts (SQL + scores): {facts:.0f} ms")


def bench_mail(engine: Engine, tmp: Path, mails: int) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        s = Settings(
            data_dir=tmp,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_tls="none",
            public_url="http://x",
        )
        t = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:  # the floor: the same server, one connection
            for i in range(200):
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = "a@x.org", f"m{i}@example.org", "floor"
                msg.set_content("floor")
                smtp.send_message(msg)
        floor = 200 / (time.perf_counter() - t)
        facts = list(member_facts(engine=engine, program=PROGRAM).values())
        consenting = [f for f in facts if f.profile and f.profile["consent"]][:mails]
        t = time.perf_counter()
        notify.enqueue(
            engine=engine,
            settings=s,
            brand_id="acme",
            brand_name="Acme",
            members=consenting,
            kind="message",
            key="bench",
            subject="Hi {name}",
            text="You have {points} points",
        )
        queued = time.perf_counter() - t
        t = time.perf_counter()
        sent = 0
        while True:
            n = deliver.deliver_due(engine, s, limit=500).get("sent", 0)
            if not n:
                break
            sent += n
        rate = sent / (time.perf_counter() - t)
        print(f"floor: plain smtplib on one connection to the same server: {floor:.0f} mails/s")
        print(
            f"notifications: {len(consenting):,} queued in {queued * 1000:.0f} ms; "
            f"sent {rate:.0f}/s "
            f"(claim, connect, send, mark each; {len(inbox.messages):,} received)"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--mails", type=int, default=1_000)
    ap.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        schema = None
        if args.pg:
            schema = f"bench_console_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL)
            with admin.begin() as c:
                c.execute(text(f"create schema {schema}"))
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        else:
            url = f"sqlite:///{tmp / 'console.db'}"
        engine = make_engine(url)
        try:
            migrate(engine)
            t = time.perf_counter()
            seed(engine, args.members)
            took = time.perf_counter() - t
            kind = "PostgreSQL" if args.pg else "SQLite"
            print(f"{kind}: seeded {args.members:,} members in {took:.1f} s")
            bench_api(url, engine, tmp, args.members)
            bench_mail(engine, tmp, args.mails)
        finally:
            engine.dispose()
            if schema:
                with admin.begin() as c:
                    c.execute(text(f"drop schema {schema} cascade"))


if __name__ == "__main__":
    main()
