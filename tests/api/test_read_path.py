"""The read path's shortcuts answer exactly what the framework's routes answer: the hot path
(eligibility and /health before routing), the strict holdings remembered per head block, and the
cached /health; every change is visible as soon as the block holding it is indexed (the mirror)
or mined (strict)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest

from api import hotpath
from api.routers import health
from loyalty_ledger import ledger
from loyalty_ledger.chain import contracts, rpc
from loyalty_ledger.ledger.points import reason_bytes, ref_bytes
from loyalty_ledger.programme.perks.onchain import HeadWatch

from .conftest import Env

pytestmark = pytest.mark.chain


def _perk(env: Env, **fields: object) -> dict[str, Any]:
    body = {"name": f"rp-{uuid.uuid4().hex[:8]}", **fields}
    r = env.client.post("/brands/acme/perks", json=body, headers=env.h("acme:perk_manager"))
    assert r.status_code == 201, r.text
    return r.json()


class Spy:
    """Counts the hot path's answers (a None is a request handed to the route)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answered = 0
        real, real_strict = hotpath.answer_from_reader, hotpath.strict_answer_async

        def counted(*a: Any) -> Any:
            out = real(*a)
            self.answered += 1
            return out

        async def counted_strict(*a: Any) -> Any:
            out = await real_strict(*a)
            self.answered += 1
            return out

        monkeypatch.setattr(hotpath, "answer_from_reader", counted)
        monkeypatch.setattr(hotpath, "strict_answer_async", counted_strict)


def _same(env: Env, url: str, routed_url: str, headers: dict[str, str]) -> tuple[int, Any]:
    """The hot path's answer to `url` equals the route's to `routed_url` (the same question in
    another spelling: the hot path only takes no query string, or exactly strict=true)."""
    hot, routed = env.client.get(url, headers=headers), env.client.get(routed_url, headers=headers)
    assert (hot.status_code, hot.content) == (routed.status_code, routed.content), url
    assert hot.headers["content-type"] == routed.headers["content-type"]
    return hot.status_code, hot.json()


def test_hot_path_answers_what_the_route_answers(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    rich, poor = env.new_member(points=120), env.new_member(points=5)
    outsider = env.new_member(register=False)
    perk = _perk(env, min_points=50, point_cost=30, per_member_limit=2)
    hidden = _perk(env, min_points=1)
    env.client.delete(f"/perks/{hidden['id']}", headers=env.h("acme:perk_manager"))
    env.index()
    spy = Spy(monkeypatch)
    h_rich = env.sign_in(rich)
    env.client.get("/auth/me", headers=h_rich)  # the session secret is known from now on
    callers = {
        "brand": env.h("acme:viewer"),
        "other brand": env.h("beta:viewer"),
        "operator": env.h("operator"),
        "auditor": env.h("auditor"),
        "customer": h_rich,
        "nobody": {},
        "bad key": {"X-API-Key": "llk_nope_nope"},
    }
    seen = set()
    for who, headers in callers.items():
        for p in (perk, hidden):
            for addr in (rich.address, poor.address, outsider.address, "0x1234", "not-one"):
                url = f"/perks/{p['id']}/eligibility/{addr}"
                status, _ = _same(env, url, url + "?strict=false", headers)
                seen.add((who, status))
                if status == 200:  # strict mode too: the chain at one head, asked twice
                    _same(env, url + "?strict=true", url + "?strict=1", headers)
    assert ("brand", 200) in seen and ("customer", 200) in seen and ("customer", 403) in seen
    assert ("other brand", 403) in seen and ("nobody", 401) in seen and ("bad key", 401) in seen
    assert spy.answered > 0  # and the hot path did answer the 200s


def test_unknown_and_malformed_go_to_the_route(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    h = env.h("operator")
    for url, status in (
        ("/perks/999999/eligibility/0x" + "11" * 20, 404),
        ("/perks/0/eligibility/0x" + "11" * 20, 422),
        (f"/perks/{2**62 + 1}/eligibility/0x" + "11" * 20, 422),
        ("/perks/1/eligibility/0x" + "11" * 20 + "?strict=maybe", 422),
    ):
        assert env.client.get(url, headers=h).status_code == status, url
    assert spy.answered == 0


def test_a_change_is_visible_once_its_block_is_indexed(env: Env) -> None:
    m = env.new_member(points=10)
    perk = _perk(env, min_points=40)
    env.index()
    url = f"/perks/{perk['id']}/eligibility/{m.address}"
    h = env.h("acme:viewer")
    for step in range(3):
        body = env.client.get(url, headers=h).json()
        assert body["as_of_block"] == env.w3.eth.block_number
        assert body["eligible"] is (step > 0)
        ledger.issue_points(
            sender=env.state.sender("brand"),
            program=env.deployment.program("acme"),
            member=m.address,
            amount=30,
            reason="signup",
            ref=f"rp-{step}",
        )
        # mined but not indexed: the answer still says the block it is true as of
        assert env.client.get(url, headers=h).json() == body
        env.index()
        assert env.client.get(url, headers=h).json()["as_of_block"] == env.w3.eth.block_number


def _node_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the API asks the node: the head (on the event loop) and batches of views."""
    calls: list[str] = []
    real_batch, real_call = rpc.JsonRpc.batch, rpc.AsyncJsonRpc.call

    def batch(self: rpc.JsonRpc, items: list[tuple[str, list[Any]]]) -> list[Any]:
        if items:  # (an empty batch sends nothing)
            calls.append("views" if items[0][0] == "eth_call" else items[0][0])
        return real_batch(self, items)

    async def call(self: rpc.AsyncJsonRpc, method: str, params: list[Any]) -> Any:
        calls.append(method)
        return await real_call(self, method, params)

    monkeypatch.setattr(rpc.JsonRpc, "batch", batch)
    monkeypatch.setattr(rpc.AsyncJsonRpc, "call", call)
    return calls


def test_strict_holdings_are_kept_per_head_block(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    m = env.new_member(points=20)
    perk = _perk(env, min_points=50)
    url = f"/perks/{perk['id']}/eligibility/{m.address}?strict=true"
    h = env.h("acme:viewer")
    calls = _node_calls(monkeypatch)
    first = env.client.get(url, headers=h).json()
    assert first["eligible"] is False and first["as_of_block"] == env.w3.eth.block_number
    assert calls == ["eth_getBlockByNumber", "views"]
    assert env.client.get(url, headers=h).json() == first
    assert calls[2:] == ["eth_getBlockByNumber"]  # the same head: only the head was asked
    ledger.issue_points(
        sender=env.state.sender("brand"),
        program=env.deployment.program("acme"),
        member=m.address,
        amount=30,
        reason="signup",
        ref="rp-strict",
    )
    after = env.client.get(url, headers=h).json()  # a new head: read again, no indexer needed
    assert after["eligible"] is True and after["as_of_block"] == first["as_of_block"] + 1
    assert calls[3:] == ["eth_getBlockByNumber", "views"]


def test_strict_answers_follow_a_reorg_at_the_same_height(env: Env) -> None:
    """Remembered holdings are keyed by the head's hash: a reorg that replaces the head block
    (same number) is read again."""
    m = env.new_member()
    perk = _perk(env, min_points=10)
    program = env.deployment.program("acme")
    brand = env.state.sender("brand")
    ledger.issue_points(sender=brand, program=program, member=m.address, amount=50)
    url = f"/perks/{perk['id']}/eligibility/{m.address}?strict=true"
    h = env.h("acme:viewer")
    before = env.client.get(url, headers=h).json()
    assert before["eligible"] is True
    # The head block replaced by one where the same sender (same nonce) issues 7 points.
    token = contracts.points(env.w3, program)
    data = token.functions.issue(
        m.address, 7, reason_bytes("signup"), ref_bytes("reorg")
    )._encode_transaction_data()
    tx = {"from": brand.address, "to": program.points, "data": data, "gas": hex(300_000)}
    env.w3.provider.make_request("anvil_reorg", [1, [[tx, 0]]])  # type: ignore[arg-type]
    after = env.client.get(url, headers=h).json()
    assert after["as_of_block"] == before["as_of_block"]
    assert [r["code"] for r in after["reasons"]] == ["insufficient_points"]
    assert "holds 7 points" in after["reasons"][0]["detail"]
    env.index()  # the mirror follows the reorg too (the other tests share it)


def test_health_is_answered_from_memory_and_stays_exact(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes: list[str] = []  # made while answering a request (not by the background prober)
    every: list[str] = []  # by either (a prober started by an earlier test may run meanwhile)
    real_chain, real_db = health._chain, health._database

    def chain(state: Any) -> Any:
        every.append("chain")
        if threading.current_thread().name != "health-probe":
            probes.append("chain")
        return real_chain(state)

    def database(state: Any) -> Any:
        every.append("database")
        if threading.current_thread().name != "health-probe":
            probes.append("database")
        return real_db(state)

    monkeypatch.setattr(health, "_chain", chain)
    monkeypatch.setattr(health, "_database", database)
    monkeypatch.setattr(health, "REFRESH", 3600.0)  # no background probe during the test
    env.index()
    health.cache_of(env.client.app).chain = None  # type: ignore[arg-type]
    first = env.client.get("/health").json()
    assert first["chain_head"] == first["indexer_checkpoint"] == env.w3.eth.block_number
    n = len(probes)
    for _ in range(20):
        assert env.client.get("/health").json() == first
    assert len(probes) == n  # answered from memory
    m = len(every)
    env.new_member(points=3)  # two more blocks
    env.index()  # the checkpoint passes the remembered head: both are probed again
    now = env.client.get("/health").json()
    assert now["chain_head"] == now["indexer_checkpoint"] == env.w3.eth.block_number
    assert now["lag_blocks"] == 0 and len(every) > m  # by the request, or the prober


def test_health_refreshes_in_the_background(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "REFRESH", 0.05)
    env.client.get("/health")
    env.new_member()  # a block the indexer has not seen: the lag shows without a probe
    deadline = time.monotonic() + 5
    while env.client.get("/health").json()["chain_head"] != env.w3.eth.block_number:
        assert time.monotonic() < deadline, "the background probe did not see the new head"
        time.sleep(0.02)
    body = env.client.get("/health").json()
    assert body["lag_blocks"] == body["chain_head"] - body["indexer_checkpoint"] > 0
    env.index()


def test_one_head_call_serves_the_requests_that_arrived_before_it() -> None:
    """Strict checks share the head: each gets a head asked for after it arrived."""

    class Node:
        url, asked = "fake", 0

        async def call(self, method: str, params: list[Any]) -> Any:
            n, self.asked = self.asked, self.asked + 1
            await asyncio.sleep(0.05)
            return {"number": hex(n), "hash": f"0x{n:064x}", "timestamp": "0x1"}

    async def scenario() -> tuple[set[int], set[int], int]:
        node = Node()
        watch = HeadWatch(node)  # type: ignore[arg-type]
        early = [asyncio.ensure_future(watch.head()) for _ in range(5)]
        await asyncio.sleep(0.01)  # the first call is on its way now
        late = [asyncio.ensure_future(watch.head()) for _ in range(3)]
        first, second = await asyncio.gather(*early), await asyncio.gather(*late)
        return {h.number for h in first}, {h.number for h in second}, node.asked

    assert asyncio.run(scenario()) == ({0}, {1}, 2)
