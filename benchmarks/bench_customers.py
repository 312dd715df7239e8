"""Benchmark of members without a wallet, the API served by uvicorn in this process:

    .venv/bin/python benchmarks/bench_customers.py [--signups 10] [--members 30] [--gifts 3]

- sign-up to first balance shown: email code asked, read from an in-process SMTP server
  (aiosmtpd), signed in (a managed key made and sealed), the brand joined (registration through
  the outbox, answered once mined), the balance read; floor: one registration sent straight
  from the operator's key plus one API round trip;
- sign-in: email code asked, read and checked (the session opened); floor: GET /auth/nonce;
- gifts per second through managed keys: members gift concurrently (one gift in flight per
  member, as the API allows), each signed by the member's managed key and relayed through the
  outbox by the relayer key, answered once mined; floor: the same number of plain transfers
  sent one by one from one key.

A private anvil, a SQLite database in a temp dir; bounded by the counts given. Not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from eth_account import Account
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402

from api.deps import ApiOptions  # noqa: E402
from api.main import create_app, serve  # noqa: E402
from loyalty_ledger import ledger  # noqa: E402
from loyalty_ledger.auth import email_codes  # noqa: E402
from loyalty_ledger.chain.anvil import Anvil, free_port  # noqa: E402
from loyalty_ledger.chain.artifacts import error_decoder  # noqa: E402
from loyalty_ledger.chain.deploy import add_brand, deploy_network  # noqa: E402
from loyalty_ledger.chain.sender import Sender, connect  # noqa: E402
from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings  # noqa: E402
from tests.customers.conftest import Inbox  # noqa: E402
from tests.customers.softauthn import SoftPasskey  # noqa: E402

WAIT = {"Prefer": "wait=30"}


def _median(xs: list[float]) -> str:
    lo, hi = min(xs) * 1000, max(xs) * 1000
    return f"{statistics.median(xs) * 1000:.0f} ms (min {lo:.0f}, max {hi:.0f})"


def _sign_in(c: httpx.Client, engine: Engine, inbox: Inbox, email: str) -> dict[str, str]:
    email_codes.forget_clients(engine)  # every request comes from one client here: no cap
    assert c.post("/auth/email/start", json={"email": email}).status_code == 202
    r = c.post("/auth/email/verify", json={"email": email, "code": inbox.last_code(email)})
    r.raise_for_status()
    return dict(r.json())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--signups", type=int, default=10)
    ap.add_argument("--members", type=int, default=30)
    ap.add_argument("--gifts", type=int, default=3, help="gifts per member")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-customers-"))
    inbox, smtp_port, api_port = Inbox(), free_port(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    with Anvil(port=0, extra_args=["--silent"]) as node:
        w3 = connect(node.url)
        op = Sender(w3, ANVIL_DEV_KEYS[0], decoder=error_decoder())
        dep = deploy_network(w3, op)
        brand = Account.from_key(ANVIL_DEV_KEYS[1])
        add_brand(
            w3,
            op,
            dep,
            brand_id="acme",
            name="Acme",
            symbol="ACME",
            admin=brand.address,
            tiers=["Basic"],
        )
        dep.save(tmp / "deployment.json")
        settings = Settings(
            rpc_url=node.url,
            database_url=f"sqlite:///{tmp / 'api.db'}",
            deployment_file=tmp / "deployment.json",
            data_dir=tmp,
            operator_key=ANVIL_DEV_KEYS[0],
            brand_key=ANVIL_DEV_KEYS[1],
            relayer_key=ANVIL_DEV_KEYS[7],
            outbox=True,
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_tls="none",
            api_port=api_port,
        )
        app = create_app(settings, options=ApiOptions("127.0.0.1", "http://127.0.0.1"))
        stop, ready = threading.Event(), threading.Event()
        serve(settings, stop, app=app, ready=ready)
        assert ready.wait(20)
        base = f"http://127.0.0.1:{api_port}"
        try:
            with httpx.Client(base_url=base, timeout=60) as c:
                _bench(c, inbox, app, op, dep, w3, args)
        finally:
            stop.set()
            app.state.api.stop.set()
            smtp.stop()


def _bench(c, inbox, app, op, dep, w3, args) -> None:  # type: ignore[no-untyped-def]
    state = app.state.api
    # floor: a registration straight from the operator key, and one API round trip
    floors, nonce = [], []
    for _ in range(args.signups):
        t = time.perf_counter()
        ledger.register_member(sender=op, deployment=dep, member=Account.create().address)
        c.get("/auth/nonce")
        floors.append(time.perf_counter() - t)
        t = time.perf_counter()
        c.get("/auth/nonce")
        nonce.append(time.perf_counter() - t)
    signups, signins = [], []
    for i in range(args.signups):
        email = f"bench{i}@example.test"
        t = time.perf_counter()
        s = _sign_in(c, state.engine, inbox, email)
        h = {"Authorization": f"Bearer {s['token']}"}
        assert (
            c.post("/members/me/join/acme", headers={**h, **WAIT}).json()["status"] == "confirmed"
        )
        r = c.get(f"/customers/{s['address']}", headers=h)
        r.raise_for_status()
        signups.append(time.perf_counter() - t)
        t = time.perf_counter()
        _sign_in(c, state.engine, inbox, email)
        signins.append(time.perf_counter() - t)
    print(f"sign-up to first balance shown: median {_median(signups)}")
    print(f"  floor (a register tx + 1 request): {_median(floors)}")
    print(f"sign-in by email code: median {_median(signins)}")
    pk = SoftPasskey(origin=str(c.base_url).replace("127.0.0.1", "localhost").rstrip("/"))
    opts = c.post("/auth/passkey/register/options").json()
    c.post("/auth/passkey/register", json={"credential": pk.create(opts)}).raise_for_status()
    passkey = []
    for _ in range(args.signups):
        t = time.perf_counter()
        opts = c.post("/auth/passkey/login/options").json()
        c.post("/auth/passkey/login", json={"credential": pk.get(opts)}).raise_for_status()
        passkey.append(time.perf_counter() - t)
    print(f"sign-in with a passkey (server side): median {_median(passkey)}")
    print(f"  floor (GET /auth/nonce): {_median(nonce)}")
    # gifts through managed keys
    members = []
    for i in range(args.members):
        s = _sign_in(c, state.engine, inbox, f"gift{i}@example.test")
        members.append(s)
    brand = state.sender("brand")
    ledger.register_members(sender=op, deployment=dep, members=[m["address"] for m in members])
    prog = dep.program("acme")
    for m in members:
        ledger.issue_points(
            sender=brand, program=prog, member=m["address"], amount=100, reason="bench", ref=""
        )

    def gifts_of(i: int) -> int:
        m, friend = members[i], members[(i + 1) % len(members)]
        h = {"Authorization": f"Bearer {m['token']}", **WAIT}
        ok = 0
        for _ in range(args.gifts):
            body = {"brand_id": "acme", "to": friend["member_id"], "amount": 1}
            r = c.post("/members/me/gifts", json=body, headers=h)
            ok += r.status_code == 200 and r.json().get("status") == "confirmed"
        return ok

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=min(16, len(members))) as pool:
        done = sum(pool.map(gifts_of, range(len(members))))
    took = time.perf_counter() - t
    total = len(members) * args.gifts
    t = time.perf_counter()
    for _ in range(total):  # the floor: plain transactions, one by one, from one key
        ledger.register_member(sender=op, deployment=dep, member=Account.create().address)
    floor = time.perf_counter() - t
    print(
        f"gifts through managed keys: {done}/{total} confirmed in {took:.1f} s = "
        f"{done / took:.1f} gifts/s "
        f"({len(members)} members, 16 client threads); floor (plain txs one by one from one key) "
        f"{total / floor:.1f} tx/s"
    )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
