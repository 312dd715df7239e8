"""The audit's thin shell: fetch logs from the node, drive the pure core, run the checks."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .decode import TOPICS, Event, Kind, Log, decode
from .digest import BlockDigest, DigestChain
from .invariants import check_invariants
from .replay import Replayer
from .rpc import Rpc, iter_log_ranges
from .state import Finding, LedgerState
from .statement import StatementBuilder

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True, slots=True)
class Network:
    """What to audit: the node, the registry, and the block the network was deployed at."""

    rpc_url: str
    registry: str
    start_block: int = 0
    forwarder: str | None = None

    @classmethod
    def from_deployment(cls, rpc_url: str, path: str) -> Network:
        import json
        from pathlib import Path

        d = json.loads(Path(path).read_text())
        return cls(
            rpc_url,
            d["registry"].lower(),
            int(d.get("start_block", 0)),
            (d.get("forwarder") or "").lower() or None,
        )


@dataclass(slots=True)
class Replay:
    """The result of replaying the network's logs up to `block`."""

    chain_id: int
    block: int
    block_hash: str
    state: LedgerState
    digests: list[BlockDigest]
    kinds: dict[str, Kind]
    statement: StatementBuilder | None = None
    events: list[Event] | None = None  # kept only when asked (mirror comparison)
    timings: dict[str, float] = field(default_factory=dict)
    log_count: int = 0


def discover_programs(
    rpc: Rpc, registry: str, start: int, end: int, forwarder: str | None = None
) -> dict[str, Kind]:
    """Every contract of the network as of `end`: the registry, each ProgramRegistered's pair,
    and the forwarder (given, else the one the first points contract trusts)."""
    kinds = {registry: Kind.REGISTRY}
    for _, _, logs in iter_log_ranges(rpc, [registry], start, end, span=100_000):
        for raw in logs:
            log = Log.from_rpc(raw)
            if log.topics and log.topics[0] == TOPICS["ProgramRegistered"]:
                ev = decode(log, Kind.REGISTRY)
                kinds[ev.args["points"]] = Kind.POINTS
                kinds[ev.args["pass"]] = Kind.PASS
    if forwarder is None:
        points = [a for a, k in kinds.items() if k is Kind.POINTS]
        if points:
            sel = "0x7da0a877"  # trustedForwarder()
            try:
                out = rpc.call("eth_call", [{"to": points[0], "data": sel}, hex(end)])
                forwarder = "0x" + out[-40:] if out and len(out) >= 42 else None
            except Exception:  # an older program without ERC-2771: no forwarder to audit
                forwarder = None
    if forwarder and int(forwarder, 16):
        kinds[forwarder.lower()] = Kind.FORWARDER
    return kinds


def replay_chain(
    rpc: Rpc,
    registry: str,
    start_block: int,
    at_block: int | None = None,
    *,
    member: str | None = None,
    forwarder: str | None = None,
    keep_events: bool = False,
    progress: Progress | None = None,
) -> Replay:
    """Fetch every network log from `start_block` to `at_block` (default head) and replay it."""
    registry = registry.lower()
    chain_id = rpc.chain_id()
    head = rpc.block_number()
    block = head if at_block is None else at_block
    if block > head:
        raise ValueError(f"block {block} is beyond the head {head}")
    header = rpc.call("eth_getBlockByNumber", [hex(block), False])
    t0 = time.perf_counter()
    kinds = discover_programs(rpc, registry, start_block, block, forwarder)
    t_disc = time.perf_counter() - t0
    replayer = Replayer(registry)
    digests = DigestChain(chain_id, registry)
    stmt = StatementBuilder(member) if member else None
    kept: list[Event] | None = [] if keep_events else None
    t_fetch = t_core = 0.0
    n = 0
    addresses = list(kinds)
    total = max(1, block - start_block + 1)
    t1 = time.perf_counter()
    gc_was_on = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects, no cycles: collections only cost
    try:
        for _first, last, logs in iter_log_ranges(rpc, addresses, start_block, block, span=200):
            t2 = time.perf_counter()
            t_fetch += t2 - t1
            for raw in logs:
                log = Log.from_rpc(raw)
                ev = decode(log, kinds[log.address])
                replayer.apply(ev)
                digests.add(log)
                if stmt is not None:
                    stmt.add(ev)
                if kept is not None:
                    kept.append(ev)
            n += len(logs)
            t1 = time.perf_counter()
            t_core += t1 - t2
            if progress:
                progress("replay", last - start_block + 1, total)
    finally:
        if gc_was_on:
            gc.enable()
    state = replayer.finish(block)
    state.findings.extend(check_invariants(state))
    return Replay(
        chain_id,
        block,
        header["hash"].lower(),
        state,
        digests.finish(),
        kinds,
        stmt,
        kept,
        {"discover": t_disc, "fetch": t_fetch, "replay": t_core},
        n,
    )


def replay_logs(
    registry: str, chain_id: int, logs: list[Log], kinds: dict[str, Kind], block: int
) -> tuple[LedgerState, list[BlockDigest]]:
    """The pure path, for tests and for re-checking a digest from stored raw logs."""
    replayer = Replayer(registry.lower())
    chain = DigestChain(chain_id, registry)
    for log in logs:
        replayer.apply(decode(log, kinds[log.address]))
        chain.add(log)
    state = replayer.finish(block)
    state.findings.extend(check_invariants(state))
    return state, chain.finish()


def summarise_state(state: LedgerState) -> dict[str, Any]:
    """The recomputed state as JSON-ready data (addresses and ids as hex strings)."""
    from .decode import bytes32_text

    programs = []
    for prog in state.programs.values():
        pts = state.points.get(prog.points)
        pas = state.passes.get(prog.pass_)
        programs.append(
            {
                "brand_id": prog.brand_id,
                "brand": bytes32_text(prog.brand_id),
                "name": prog.name,
                "points": prog.points,
                "pass": prog.pass_,
                "admin": prog.admin,
                "block": prog.block,
                "total_supply": pts.total_supply if pts else 0,
                "liability": {
                    "issued": pts.issued,
                    "redeemed": pts.redeemed,
                    "forfeited": pts.forfeited,
                    "outstanding": pts.outstanding,
                    "gifted": pts.gifted,
                    "recovered": pts.recovered,
                    "issued_by_reason": dict(sorted(pts.issued_by_reason.items())),
                    "forfeited_by_reason": dict(sorted(pts.forfeited_by_reason.items())),
                }
                if pts
                else {},
                "paused": pts.paused if pts else False,
                "holders": sum(1 for b in pts.balances.values() if b) if pts else 0,
                "balances": {h: b for h, b in sorted(pts.balances.items()) if b} if pts else {},
                "transferable": pas.transferable if pas else False,
                "tiers": {str(k): v for k, v in sorted(pas.tiers.items())} if pas else {},
                "passes": [
                    {
                        "token_id": r.token_id,
                        "owner": r.owner,
                        "tier": r.tier,
                        "expires_at": r.expires_at,
                        "locked": r.locked,
                    }
                    for r in sorted(pas.passes.values(), key=lambda r: r.token_id)
                ]
                if pas
                else [],
            }
        )
    reg = state.members
    return {
        "programs": programs,
        "members": {
            "registered": sorted(reg.members),
            "frozen": sorted(reg.frozen),
            "recoveries": [
                {"lost": r.lost, "new": r.new, "by": r.by, "block": r.block, "tx": r.tx}
                for r in reg.recoveries
            ],
        },
        "roles": [
            {"contract": c, "role": r, "holders": sorted(h)}
            for (c, r), h in sorted(state.roles.items())
            if h
        ],
        "events": state.events,
    }


def findings_of(replay: Replay) -> list[Finding]:
    return list(replay.state.findings)
