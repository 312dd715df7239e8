"""Concurrent redeems against the served app (uvicorn, real threads), SQLite and PostgreSQL:
never more than the stock or the per-member limit, never the same points twice."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from loyalty_ledger import ledger
from loyalty_ledger.ledger import consent
from loyalty_ledger.programme import perks

from .conftest import Env, sign_typed

pytestmark = pytest.mark.chain


def _members(env: Env, n: int, points: int) -> list[LocalAccount]:
    accts: list[LocalAccount] = [Account.create() for _ in range(n)]
    ledger.register_members(
        sender=env.state.sender("operator"),
        deployment=env.deployment,
        members=[a.address for a in accts],
    )
    ledger.issue_points_batch(
        sender=env.state.sender("brand"),
        program=env.deployment.program("acme"),
        items=[ledger.BatchItem(member=a.address, amount=points, ref="c") for a in accts],
        reason="signup",
    )
    return accts


def _signed_redeem(env: Env, acct: LocalAccount, perk: dict[str, Any]) -> dict[str, Any]:
    program = env.deployment.program("acme")
    typed = consent.forward_typed_data(
        w3=env.w3,
        deployment=env.deployment,
        signer=acct.address,
        call=perks.redeem_call(w3=env.w3, program=program, perk=perk),
    )
    return {"forward": {"message": typed["message"], "signature": sign_typed(acct, typed)}}


def _perk(env: Env, **fields: Any) -> dict[str, Any]:
    r = env.client.post(
        "/brands/acme/perks",
        json={"name": f"c-{uuid.uuid4().hex[:8]}", **fields},
        headers=env.h("acme:perk_manager"),
    )
    assert r.status_code == 201, r.text
    return r.json()


def _post_all(base: str, jobs: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(jobs))

    def one(job: tuple[str, dict, dict]) -> httpx.Response:
        url, body, headers = job
        with httpx.Client(base_url=base, timeout=120, headers={"Prefer": "wait=30"}) as c:
            barrier.wait()
            return c.post(url, json=body, headers=headers)

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(one, jobs))


def test_fifty_parallel_redeems_of_stock_ten(served) -> None:  # type: ignore[no-untyped-def]
    env, base = served
    accts = _members(env, 50, 20)
    perk = _perk(env, point_cost=7, total_stock=10)
    env.index()
    jobs = []
    for a in accts:
        token = env.sign_in(a)
        jobs.append(
            (
                f"/perks/{perk['id']}/redeem",
                _signed_redeem(env, a, perk),
                {**token, "Idempotency-Key": uuid.uuid4().hex},
            )
        )
    results = _post_all(base, jobs)
    assert all(r.status_code in (200, 409) for r in results), [r.text for r in results]
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 10 and all(r.json()["status"] == "confirmed" for r in ok)
    assert {r.json()["error"] for r in results if r.status_code == 409} <= {
        "out_of_stock",
        "not_eligible",
    }
    program = env.deployment.program("acme")
    burned = sum(
        20 - ledger.balance_of(w3=env.w3, program=program, member=a.address) for a in accts
    )
    assert burned == 70
    got = env.client.get(f"/perks/{perk['id']}", headers=env.h("acme:viewer")).json()
    assert got["redeemed_count"] == 10


def test_same_member_parallel_limit_and_points(served) -> None:  # type: ignore[no-untyped-def]
    env, base = served
    [a] = _members(env, 1, 30)
    limited = _perk(env, point_cost=1, per_member_limit=1)
    p1, p2 = _perk(env, point_cost=20), _perk(env, point_cost=20)
    env.index()
    token = env.sign_in(a)
    # limit 1: ten parallel requests with different keys (same signed request) -> one redeem
    body = _signed_redeem(env, a, limited)
    jobs = [
        (f"/perks/{limited['id']}/redeem", body, {**token, "Idempotency-Key": f"k{i}"})
        for i in range(10)
    ]
    results = _post_all(base, jobs)
    assert sum(r.status_code == 200 for r in results) == 1, [r.text for r in results]
    assert all(r.status_code in (200, 400, 409) for r in results)
    # 29 points left, two perks of 20 in parallel: only one can be paid
    b1 = _signed_redeem(env, a, p1)
    prog = env.deployment.program("acme")
    typed = consent.permit_typed_data(
        w3=env.w3,
        program=prog,
        owner=a.address,
        spender=env.state.sender("brand").address,
        value=20,
    )
    b2 = {"permit": {"message": typed["message"], "signature": sign_typed(a, typed)}}
    results = _post_all(
        base,
        [
            (f"/perks/{p1['id']}/redeem", b1, {**token, "Idempotency-Key": "p1"}),
            (f"/perks/{p2['id']}/redeem", b2, {**token, "Idempotency-Key": "p2"}),
        ],
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    assert ledger.balance_of(w3=env.w3, program=prog, member=a.address) == 9
