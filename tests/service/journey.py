"""What the journeys do to a running main job: keys, members, points moved through its API and
on chain, and a snapshot of what must survive a restart."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loyalty_ledger import ledger
from loyalty_ledger.auth import create_api_key
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.store import make_engine

from .mainjob import MainJob, wait_for

BRAND = "coffee"


@dataclass
class People:
    operator_key: str
    issuer_key: str
    viewer_key: str
    alice: Sender  # anvil dev account 5, a member
    bob: Sender  # anvil dev account 6, a member


def people(job: MainJob) -> People:
    """API keys in the job's database, and two members registered through its API."""
    engine = make_engine(job.direct_database_url)
    try:
        op = create_api_key(engine=engine, kind="operator")[1]
        issuer = create_api_key(engine=engine, kind="brand", brand_id=BRAND, roles=["issuer"])[1]
        viewer = create_api_key(engine=engine, kind="brand", brand_id=BRAND, roles=["viewer"])[1]
    finally:
        engine.dispose()
    alice, bob = job.sender(5), job.sender(6)
    for who in (alice, bob):
        r = job.post("/admin/members", {"address": who.address}, op)
        assert r.status_code == 201, r.text
    return People(op, issuer, viewer, alice, bob)


def earn(
    job: MainJob, p: People, amount: int = 500_000, order_id: str | None = None
) -> dict[str, Any]:
    """A purchase by alice, earned through the job's API (its signer issues the points; with
    the outbox on, once the submitter has it mined)."""
    body = {
        "member": p.alice.address,
        "order_id": order_id or f"ord-{uuid.uuid4().hex[:10]}",
        "amount": amount,
        "currency": "VND",
        "items": 1,
    }
    r = job.post(f"/brands/{BRAND}/earn/purchase", body, p.issuer_key, Prefer="wait=30")
    assert r.status_code == 200, r.text
    return dict(r.json())


def gift(job: MainJob, p: People, amount: int = 7) -> None:
    """alice gives bob points, signing on chain herself."""
    program = job.deployment().program(BRAND)
    ledger.gift_points(sender=p.alice, program=program, to=p.bob.address, amount=amount, memo="hi")


@dataclass(frozen=True)
class Snapshot:
    chain_id: int
    head: int
    head_hash: str
    balances: tuple[int, int]


def snapshot(job: MainJob, p: People) -> Snapshot:
    w3 = job.w3()
    program = job.deployment().program(BRAND)
    head = w3.eth.block_number
    bal = tuple(
        ledger.balance_of(w3=w3, program=program, member=who.address) for who in (p.alice, p.bob)
    )
    return Snapshot(
        w3.eth.chain_id, head, w3.eth.get_block(head)["hash"].to_0x_hex(), (bal[0], bal[1])
    )


def block_hash(job: MainJob, number: int) -> str:
    return job.w3().eth.get_block(number)["hash"].to_0x_hex()


def wait_for_save(job: MainJob, timeout: float = 30.0) -> None:
    """Until the job's anvil saved its state after now (a fresh `state.json`; the keeper saves
    only a head that moved)."""
    state = job.data_dir / "chain" / "state.json"
    since = state.stat().st_mtime if state.exists() else 0.0
    wait_for("a save of the chain state", lambda: _mtime(state) > since, timeout, every=0.05)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def mirror_balance(job: MainJob, p: People, who: Sender) -> int:
    r = job.get(f"/customers/{who.address}", p.operator_key)
    assert r.status_code == 200, r.text
    programs = {x["brand_id"]: x for x in r.json()["programs"]}
    return int(programs[BRAND]["balance"]) if BRAND in programs else 0


def timed(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    t0 = time.monotonic()
    out = fn(*args, **kw)
    return out, time.monotonic() - t0
