"""Strict eligibility reads: holdings from the chain at one block, in batched raw JSON-RPC.

Two round trips for any number of addresses without passes (the head; one batch of views at
that block), a third for the pass details of holders. Every view is read at the head's number,
so an answer is exactly the chain's state at the block it names.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_utils import keccak
from sqlalchemy import Engine, select
from web3 import Web3

from loyalty_ledger.chain import rpc
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.errors import ContractRevert, NodeUnreachable
from loyalty_ledger.programme.perks.catalogue import T_USAGE
from loyalty_ledger.programme.perks.rules import Holding
from loyalty_ledger.validate import checksum_address

_SEL = {
    name: keccak(text=sig)[:4].hex()
    for name, sig in {
        "isMember": "isMember(address)",
        "isFrozen": "isFrozen(address)",
        "balanceOf": "balanceOf(address)",
        "passOf": "passOf(address)",
        "isActive": "isActive(address)",
        "passInfo": "passInfo(uint256)",
    }.items()
}


def client_of(w3: Web3) -> rpc.JsonRpc:
    """The raw client of the node `w3` talks to (same URL and timeout)."""
    provider: Any = w3.provider
    url = str(getattr(provider, "endpoint_uri", "") or "")
    if not url.startswith(("http://", "https://")):
        raise NodeUnreachable(url or "node", "strict reads need an HTTP JSON-RPC node")
    timeout = float((getattr(provider, "_request_kwargs", None) or {}).get("timeout", 10.0))
    return rpc.client(url, timeout=timeout)


def _calls(at: int, calls: list[tuple[str, str, int | str]]) -> list[tuple[str, list[Any]]]:
    """eth_call requests at block `at`: (contract, function, one argument)."""
    out = []
    for to, fn, arg in calls:
        word = int(arg, 16) if isinstance(arg, str) else arg
        data = "0x" + _SEL[fn] + format(word, "064x")
        out.append(("eth_call", [{"to": to, "data": data}, hex(at)]))
    return out


def _batch(node: rpc.JsonRpc, calls: list[tuple[str, list[Any]]]) -> list[bytes]:
    """The 32-byte words of a batch of eth_calls; any failed call fails the read."""
    try:
        results = node.batch(calls)
    except rpc.RpcError as exc:
        raise ContractRevert(f"batch call failed: {exc.error}") from None
    out = []
    for r in results:
        if isinstance(r, rpc.RpcError):
            raise ContractRevert(f"eth_call failed: {r.error}")
        out.append(bytes.fromhex(str(r)[2:]))
    return out


def _word(raw: bytes, i: int = 0) -> int:
    return int.from_bytes(raw[32 * i : 32 * (i + 1)], "big")


@dataclass(frozen=True)
class Head:
    """The chain head a strict answer is true as of."""

    number: int
    hash: str
    time: int


def _head(url: str, block: Any) -> Head:
    if not isinstance(block, dict):
        raise NodeUnreachable(url, "no head block")
    return Head(int(block["number"], 16), str(block["hash"]), int(block["timestamp"], 16))


def head(client: rpc.JsonRpc) -> Head:
    """The chain head now."""
    return _head(client.url, client.call("eth_getBlockByNumber", ["latest", False]))


class HeadWatch:
    """The chain head for the requests of one event loop, asked once for all who wait: each
    waiter gets a head that was asked for after it arrived (so it is the chain's head at or
    after the request), and under load one call serves many requests."""

    def __init__(self, client: rpc.AsyncJsonRpc) -> None:
        self.client = client
        self._waiting: list[asyncio.Future[Head]] = []
        self._asking = False

    async def head(self) -> Head:
        fut: asyncio.Future[Head] = asyncio.get_running_loop().create_future()
        self._waiting.append(fut)
        if not self._asking:
            self._asking = True
            asyncio.get_running_loop().create_task(self._ask())
        return await fut

    async def _ask(self) -> None:
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                try:
                    block = await self.client.call("eth_getBlockByNumber", ["latest", False])
                    got = _head(self.client.url, block)
                except Exception as exc:  # each waiter sees it
                    for f in waiting:
                        if not f.done():
                            f.set_exception(exc)
                    continue
                for f in waiting:
                    if not f.done():
                        f.set_result(got)
        finally:
            self._asking = False


_watches: weakref.WeakKeyDictionary[Any, dict[str, HeadWatch]] = weakref.WeakKeyDictionary()


def head_watch(client: rpc.AsyncJsonRpc) -> HeadWatch:
    """The running loop's head watch of `client`'s node."""
    per = _watches.setdefault(asyncio.get_running_loop(), {})
    watch = per.get(client.url)
    if watch is None:
        watch = per[client.url] = HeadWatch(client)
    return watch


def remembered(
    *, deployment: Deployment, program: Program, partner: Program | None, at: Head, address: str
) -> Holding | None:
    """What `address` holds at head `at`, when read before (no I/O), else None."""
    if _held[0] != at.hash:
        return None
    ppass = partner.pass_ if partner is not None else ""
    h = _held[1].get((deployment.registry, program.points, program.pass_, ppass, address))
    return replace(h) if h is not None else None


# What addresses held at the head block, by (registry, points, pass, partner pass, address):
# a block hash fixes the chain's whole state, so these are exact for as long as the head is that
# block (one head at a time; bounded).
_held: tuple[str, dict[tuple[str, ...], Holding]] = ("", {})
HELD_MAX = 100_000


def chain_state(
    *,
    client: rpc.JsonRpc,
    deployment: Deployment,
    program: Program,
    partner: Program | None,
    addresses: Sequence[str],
    at: Head | None = None,
) -> tuple[dict[str, Holding], Head]:
    """What each address holds on chain at the head (`used` left 0): from memory when this
    head was read before, else one batch of views at the head (two with pass holders)."""
    global _held
    at = at or head(client)
    if _held[0] != at.hash:
        _held = (at.hash, {})
    known = _held[1]
    ppass = partner.pass_ if partner is not None else ""
    contracts = (deployment.registry, program.points, program.pass_, ppass)
    out: dict[str, Holding] = {}
    missing: list[str] = []
    for a in (str(checksum_address(x)) for x in addresses):
        h = known.get((*contracts, a))
        if h is None:
            missing.append(a)
        else:
            out[a.lower()] = replace(h)
    if missing:
        read = _read(client, at.number, deployment, program, partner, missing)
        if len(known) + len(read) > HELD_MAX:
            known.clear()
        for addr, held in read.items():
            known[(*contracts, addr)] = held
            out[addr.lower()] = replace(held)
    return out, at


def _read(
    client: rpc.JsonRpc,
    at: int,
    deployment: Deployment,
    program: Program,
    partner: Program | None,
    addrs: list[str],
) -> dict[str, Holding]:
    """Holdings read from the chain at block `at`, by checksum address."""
    reg, pts, pas = deployment.registry, program.points, program.pass_
    per = 5 if partner is not None else 4
    calls: list[tuple[str, str, int | str]] = []
    for a in addrs:
        calls += [(reg, "isMember", a), (reg, "isFrozen", a), (pts, "balanceOf", a)]
        calls.append((pas, "passOf", a))
        if partner is not None:
            calls.append((partner.pass_, "isActive", a))
    res = _batch(client, _calls(at, calls))
    out: dict[str, Holding] = {}
    token_ids: dict[str, int] = {}
    for i, a in enumerate(addrs):
        r = res[i * per : (i + 1) * per]
        h = Holding(registered=bool(_word(r[0])), frozen=bool(_word(r[1])), balance=_word(r[2]))
        if partner is not None:
            h.partner_pass = bool(_word(r[4]))
        if _word(r[3]):
            token_ids[a] = _word(r[3])
        out[a] = h
    holders = list(token_ids)
    infos = _batch(client, _calls(at, [(pas, "passInfo", token_ids[a]) for a in holders]))
    for holder, raw in zip(holders, infos, strict=True):
        out[holder].pass_tier, out[holder].pass_expires_at = _word(raw, 1), _word(raw, 2)
    return out


def chain_holdings(
    *,
    w3: Web3,
    deployment: Deployment,
    perk: dict[str, Any],
    program: Program,
    partner: Program | None,
    engine: Engine,
    addresses: Sequence[str],
    client: rpc.JsonRpc | None = None,
) -> tuple[dict[str, Holding], int, int]:
    """Holdings read from the chain at one block, with the perk's usage from SQL:
    (holdings, block number, block time)."""
    out, at = chain_state(
        client=client or client_of(w3),
        deployment=deployment,
        program=program,
        partner=partner,
        addresses=addresses,
    )
    if perk["per_member_limit"] is not None:
        with engine.connect() as conn:
            for member, used in conn.execute(
                select(T_USAGE.c.member, T_USAGE.c.used).where(
                    T_USAGE.c.perk_id == perk["id"], T_USAGE.c.member.in_(list(out))
                )
            ):
                out[member].used = int(used)
    return out, at.number, at.time
