"""Deciding where an audit starts: from a verified checkpoint (`checkpoint`) or from genesis,
and writing the checkpoint the audit ends with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import checkpoint as ck
from .chain_replay import Network, Replay, Resume, discover_programs
from .decode import Kind
from .mirror_range import RangeDigest
from .rpc import Rpc


@dataclass(slots=True)
class Plan:
    """How this audit replays: `resume` None means from genesis, `note` says why."""

    path: Path | None
    block: int
    kinds: dict[str, Kind]
    genesis: str
    resume: Resume | None = None
    ranges: list[RangeDigest] = field(default_factory=list)
    note: str = ""

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": str(self.path) if self.path else None,
            "mode": "incremental" if self.resume else "full",
            "note": self.note,
        }
        if self.resume is not None:
            out |= {"from_block": self.resume.block, "events_before": self.resume.log_count}
        return out


def plan(
    rpc: Rpc,
    network: Network,
    block: int,
    path: str | Path | None,
    *,
    full: bool = False,
    needs_history: str | None = None,
    mirror: bool = False,
) -> Plan:
    """Where to start: the checkpoint at `path` when it is sound and of use, else genesis.
    Raises `CheckpointRefused` on a checkpoint that was altered or is of another network."""
    genesis = str((rpc.call("eth_getBlockByNumber", ["0x0", False]) or {}).get("hash", ""))
    kinds = discover_programs(
        rpc, network.registry, network.start_block, block, network.forwarder, network.exchange
    )
    p = Path(path) if path is not None else None
    out = Plan(p, block, kinds, genesis.lower())
    if p is None:
        return out
    if full:
        out.note = "--full: replayed from genesis"
        return out
    if not p.exists():
        out.note = f"no checkpoint at {p} yet: replayed from genesis"
        return out
    cp, text = ck.load(p)
    chain_id = rpc.chain_id()
    ck.check_network(cp, p, chain_id, genesis, network.registry, network.start_block)
    if needs_history:
        out.note = f"{needs_history} needs the whole history: replayed from genesis"
        return out
    if cp.block > block:
        out.note = (
            f"the checkpoint is at block {cp.block}, past the audited block {block}: "
            "replayed from genesis"
        )
        return out
    hdr = rpc.call("eth_getBlockByNumber", [hex(cp.block), False]) or {}
    now = str(hdr.get("hash", "")).lower()
    if now != cp.block_hash:
        out.note = (
            f"the chain changed below the checkpoint (a reorg): block {cp.block} is now "
            f"{now[:18] or 'missing'}…, the checkpoint had {cp.block_hash[:18]}…; "
            "replayed from genesis"
        )
        return out
    old = ck.kinds_of(cp)
    if any(kinds.get(a) is not k for a, k in old.items()):
        out.note = "the network's contracts are not those of the checkpoint: replayed from genesis"
        return out
    ranges = cp.range_digests()
    if mirror:
        covered = bool(ranges) and ranges[0].first == network.start_block
        covered = covered and ranges[-1].last == cp.block
        if not covered:
            out.note = "the checkpoint holds no digests of the mirror's rows: replayed from genesis"
            return out
        if sorted(exchanges(kinds)) != cp.exchanges:
            out.note = "the exchanges changed since the checkpoint: replayed from genesis"
            return out
    out.resume = ck.resume_of(cp, text)
    out.ranges = ranges if mirror else []
    out.note = f"resumed from the checkpoint at block {cp.block} ({cp.events} events)"
    return out


def exchanges(kinds: dict[str, Kind]) -> set[str]:
    return {a for a, k in kinds.items() if k is Kind.EXCHANGE}


def write(pl: Plan, network: Network, rep: Replay, ranges: list[RangeDigest] | None) -> None:
    """The checkpoint at the audited block (the mirror's range digests when it was compared)."""
    assert pl.path is not None and rep.snapshot is not None
    cp = ck.Checkpoint(
        chain_id=rep.chain_id,
        genesis_hash=pl.genesis,
        registry=network.registry.lower(),
        start_block=network.start_block,
        block=rep.block,
        block_hash=rep.block_hash,
        digest=rep.digest,
        digest_blocks=rep.digest_blocks,
        events=rep.log_count,
        kinds={a: k.value for a, k in rep.kinds.items()},
        exchanges=sorted(exchanges(rep.kinds)),
        ranges=[r.as_list() for r in ranges or []],
    )
    ck.save(pl.path, cp, rep.snapshot)
