"""The audit's thin shell: fetch logs from the node, drive the pure core, run the checks."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .decode import TOPICS, Event, Kind, Log, decode
from .digest import BlockDigest, DigestChain
from .invariants import check_invariants
from .replay import Replayer
from .replay_exchange import EXCHANGE_ROLE
from .rpc import Rpc, RpcError, iter_log_ranges
from .state import Finding, LedgerState
from .statement import StatementBuilder
from .summary import summarise_state

__all__ = ["Network", "Replay", "discover_programs", "replay_chain", "summarise_state"]

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True, slots=True)
class Network:
    """What to audit: the node, the registry, and the block the network was deployed at."""

    rpc_url: str
    registry: str
    start_block: int = 0
    forwarder: str | None = None
    exchange: str | None = None  # the coalition exchange (also found from EXCHANGE_ROLE grants)

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
            (d.get("exchange") or "").lower() or None,
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
    timings: dict[str, float] = field(default_factory=dict)
    log_count: int = 0
    digest: str = ""  # the head digest (of the last block <= `block` with network events)
    digest_blocks: int = 0
    snapshot: str | None = None  # the state before `finish`, for a checkpoint (`snapshot`)
    resumed_from: int | None = None  # the checkpoint's block, on an incremental replay


@dataclass(slots=True)
class Resume:
    """Where an incremental replay starts: a verified checkpoint's state after `block`."""

    block: int
    state: LedgerState
    last_time: int | None
    digest: str
    digest_blocks: int
    log_count: int


def discover_programs(
    rpc: Rpc,
    registry: str,
    start: int,
    end: int,
    forwarder: str | None = None,
    exchange: str | None = None,
) -> dict[str, Kind]:
    """Every contract of the network as of `end`: the registry, each ProgramRegistered's pair,
    the forwarder (given, else the one the first points contract trusts), and the coalition
    exchange (given, and every account granted EXCHANGE_ROLE on a points contract)."""
    kinds = {registry: Kind.REGISTRY}
    for _, _, logs in iter_log_ranges(rpc, [registry], start, end, span=100_000):
        for raw in logs:
            log = Log.from_rpc(raw)
            if log.topics and log.topics[0] == TOPICS["ProgramRegistered"]:
                ev = decode(log, Kind.REGISTRY)
                kinds[ev.args["points"]] = Kind.POINTS
                kinds[ev.args["pass"]] = Kind.PASS
    points = [a for a, k in kinds.items() if k is Kind.POINTS]
    if forwarder is None and points:
        sel = "0x7da0a877"  # trustedForwarder()
        try:
            out = rpc.call("eth_call", [{"to": points[0], "data": sel}, hex(end)])
            forwarder = "0x" + out[-40:] if out and len(out) >= 42 else None
        except RpcError:  # an older program without ERC-2771: no forwarder to audit
            forwarder = None
    if forwarder and int(forwarder, 16):
        kinds[forwarder.lower()] = Kind.FORWARDER
    exchanges = {exchange.lower()} if exchange else set()
    if points:
        grants = [TOPICS["RoleGranted"], EXCHANGE_ROLE]
        for _, _, logs in iter_log_ranges(rpc, points, start, end, span=100_000, topics=grants):
            exchanges.update("0x" + raw["topics"][2][-40:].lower() for raw in logs)
    for x in sorted(exchanges):
        kinds.setdefault(x, Kind.EXCHANGE)
    return kinds


def _fill_times(rpc: Rpc, logs: list[Log]) -> None:
    """Give every log its block's time when the node left `blockTimestamp` out of its
    eth_getLogs answer (Hardhat's node does): one batch of headers for those blocks, as the
    indexer does, so the replay has the same times on every node."""
    wanted = sorted({log.block_number for log in logs if log.block_time is None})
    if not wanted:
        return
    hdrs = rpc.headers(wanted)
    for log in logs:
        if log.block_time is None:
            h = hdrs.get(log.block_number)
            if h is None or h["hash"].lower() != log.block_hash:
                raise ValueError(
                    f"block {log.block_number} changed while the audit read it (a reorg at "
                    "the head?): audit again, or at an older --at-block"
                )
            log.block_time = int(h["timestamp"], 16)


def replay_chain(
    rpc: Rpc,
    registry: str,
    start_block: int,
    at_block: int | None = None,
    *,
    member: str | None = None,
    forwarder: str | None = None,
    exchange: str | None = None,
    progress: Progress | None = None,
    on_page: Callable[[int, int, list[Event]], None] | None = None,
    keep_digests: bool = True,
    resume: Resume | None = None,
    snapshot: bool = False,
    kinds: dict[str, Kind] | None = None,
) -> Replay:
    """Fetch every network log from `start_block` (or after `resume.block`) to `at_block`
    (default head) and replay it, page by page: each page of logs is decoded, applied, folded
    into the digest, handed to `on_page` (first block, last block, events) and dropped, so
    memory holds the state, not the history. `snapshot` keeps the state before closing it."""
    registry = registry.lower()
    chain_id = rpc.chain_id()
    head = rpc.block_number()
    block = head if at_block is None else at_block
    if block > head:
        raise ValueError(f"block {block} is beyond the head {head}")
    header = rpc.call("eth_getBlockByNumber", [hex(block), False])
    t0 = time.perf_counter()
    if kinds is None:
        kinds = discover_programs(rpc, registry, start_block, block, forwarder, exchange)
    t_disc = time.perf_counter() - t0
    replayer = Replayer(registry)
    digests = DigestChain(chain_id, registry, keep=keep_digests)
    stmt = StatementBuilder(member) if member else None
    t_fetch = t_core = 0.0
    n, first, pages = 0, start_block, 0
    if resume is not None:
        replayer.resume(resume.state, resume.last_time)
        digests.resume(resume.digest, resume.digest_blocks)
        n, first = resume.log_count, resume.block + 1
    addresses = list(kinds)
    total = max(1, block - first + 1)
    t1 = time.perf_counter()
    gc_was_on = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects, no cycles: collections only cost
    try:
        for page_first, last, raws in iter_log_ranges(
            rpc, addresses, first, block, span=8, target_logs=5_000
        ):
            logs = [Log.from_rpc(raw) for raw in raws]
            del raws
            _fill_times(rpc, logs)
            t2 = time.perf_counter()
            t_fetch += t2 - t1
            events = [decode(log, kinds[log.address]) for log in logs]
            for ev in events:
                replayer.apply(ev)
                digests.add(ev.log)
                if stmt is not None:
                    stmt.add(ev)
            if on_page is not None:
                on_page(page_first, last, events)
            n += len(logs)
            del logs, events
            pages += 1  # the pages' cycles (HTTP, SQL results): young objects each page, all
            gc.collect(2 if pages % 16 == 0 else 1)  # now and then (what outlived two pages)
            t1 = time.perf_counter()
            t_core += t1 - t2
            if progress:
                progress("fetch + replay (blocks)", last - first + 1, total)
                progress("events replayed", n, 0)
    finally:
        if gc_was_on:
            gc.enable()
    kept = replayer.snapshot() if snapshot else None
    state = replayer.finish(block, int(header["timestamp"], 16))
    state.findings.extend(check_invariants(state))
    blocks = digests.finish()
    return Replay(
        chain_id,
        block,
        header["hash"].lower(),
        state,
        blocks,
        kinds,
        stmt,
        {"discover": t_disc, "fetch": t_fetch, "replay": t_core},
        n,
        digests.head,
        digests.count,
        kept,
        None if resume is None else resume.block,
    )


def replay_logs(
    registry: str,
    chain_id: int,
    logs: list[Log],
    kinds: dict[str, Kind],
    block: int,
    timestamp: int | None = None,
) -> tuple[LedgerState, list[BlockDigest]]:
    """The pure path, for tests and for re-checking a digest from stored raw logs (with their
    block times); `timestamp` is the audited block's (default: the last log's)."""
    replayer = Replayer(registry.lower())
    chain = DigestChain(chain_id, registry)
    for log in logs:
        replayer.apply(decode(log, kinds[log.address]))
        chain.add(log)
    state = replayer.finish(block, timestamp)
    state.findings.extend(check_invariants(state))
    return state, chain.finish()


def findings_of(replay: Replay) -> list[Finding]:
    return list(replay.state.findings)
