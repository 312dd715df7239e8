"""An audit's checkpoint: the replay's state at block N, sealed into the digest chain, so the
next audit replays N+1 … head only and gives the verdict a replay from genesis would.

The file has two lines: a header (JSON) and the state (`snapshot`'s canonical text). The header
holds the network (chain id, genesis hash, registry, deployment block), block N and its hash,
the digest chain's head at N and its length, the state's hash, the mirror's range digests up to
N (`mirror_range`), and the seal:

    seal = keccak( "loyalty-ledger/audit/checkpoint/v1" ‖ digest(N) ‖ state_hash ‖ keccak(header) )

where `header` is the header's canonical JSON without the seal. The state is trusted only when
it hashes to `state_hash` and the seal binds that hash to the digest at N: an edited state, an
edited header, or a state moved to another header is refused. A checkpoint of another network
(chain id, genesis or registry) is refused as well. When the node's block N is no longer the
checkpoint's (a reorg below N), or N is past the audited block, the audit says so and replays
from genesis. The seal is a hash, not a signature: it detects edits and mix-ups; keep the
checkpoint where only the auditor writes (the data dir) as you would the audit's output.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from loyalty_ledger.errors import LedgerValueError

from .chain_replay import Resume
from .decode import Kind
from .mirror_range import RangeDigest
from .snapshot import SnapshotUnreadable, load_state, state_hash

DOMAIN = b"loyalty-ledger/audit/checkpoint/v1"
VERSION = 1


class CheckpointRefused(LedgerValueError):
    """The checkpoint file was altered, is not one, or belongs to another network."""

    code = "audit_checkpoint_refused"


@dataclass(slots=True)
class Checkpoint:
    chain_id: int
    genesis_hash: str
    registry: str
    start_block: int
    block: int
    block_hash: str
    digest: str
    digest_blocks: int
    events: int
    kinds: dict[str, str]
    exchanges: list[str]
    ranges: list[list[Any]] = field(default_factory=list)  # RangeDigest.as_list() each
    state_hash: str = ""
    seal: str = ""

    def header(self) -> dict[str, Any]:
        out = {"version": VERSION}
        out |= {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "seal"}
        return out

    def compute_seal(self) -> str:
        head = json.dumps(self.header(), sort_keys=True, separators=(",", ":")).encode()
        return (
            "0x"
            + keccak(
                DOMAIN
                + bytes.fromhex(self.digest[2:])
                + bytes.fromhex(self.state_hash[2:])
                + keccak(head)
            ).hex()
        )

    def range_digests(self) -> list[RangeDigest]:
        return [RangeDigest(*r) for r in self.ranges]


def save(path: str | Path, cp: Checkpoint, state_text: str) -> None:
    """Write atomically (a partial file is never left under `path`)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    cp.state_hash = state_hash(state_text)
    cp.seal = cp.compute_seal()
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w") as fh:
        fh.write(json.dumps({**cp.header(), "seal": cp.seal}, separators=(",", ":")))
        fh.write("\n")
        fh.write(state_text)
        fh.write("\n")
    os.replace(tmp, p)


def load(path: str | Path) -> tuple[Checkpoint, str]:
    """The checkpoint and its state text, integrity checked (raises `CheckpointRefused`)."""
    p = Path(path)
    try:
        head, text = p.read_text().rstrip("\n").split("\n", 1)
        raw = json.loads(head)
        if raw.pop("version", None) != VERSION:
            raise ValueError("not a version-1 audit checkpoint")
        cp = Checkpoint(**raw)
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        raise CheckpointRefused(
            f"{p} is not an audit checkpoint ({err}): refused; run `loyalty audit --full` "
            "to replay from genesis and write a new one"
        ) from err
    if state_hash(text) != cp.state_hash:
        raise CheckpointRefused(
            f"the checkpoint {p} was altered: its state does not hash to the sealed "
            f"{cp.state_hash[:18]}…; refused. Run `loyalty audit --full` to replay from genesis."
        )
    if cp.compute_seal() != cp.seal:
        raise CheckpointRefused(
            f"the checkpoint {p} was altered: its seal does not bind its header and state to "
            f"the digest at block {cp.block}; refused. Run `loyalty audit --full`."
        )
    return cp, text


def check_network(
    cp: Checkpoint, path: str | Path, chain_id: int, genesis: str, registry: str, start: int
) -> None:
    """Refuse a checkpoint written for another network than the one audited."""
    theirs = (cp.chain_id, cp.genesis_hash, cp.registry, cp.start_block)
    ours = (chain_id, genesis.lower(), registry.lower(), start)
    if theirs != ours:
        raise CheckpointRefused(
            f"the checkpoint {path} belongs to another network (chain {cp.chain_id}, genesis "
            f"{cp.genesis_hash[:14]}…, registry {cp.registry} from block {cp.start_block}); "
            f"this audit is of chain {chain_id}, genesis {genesis[:14]}…, registry "
            f"{registry.lower()} from block {start}: refused. Pass the right --checkpoint, "
            "or --full to replay from genesis."
        )


def resume_of(cp: Checkpoint, text: str) -> Resume:
    try:
        state, last = load_state(text)
    except SnapshotUnreadable as err:
        raise CheckpointRefused(f"the checkpoint's state is unreadable: {err}") from err
    return Resume(cp.block, state, last, cp.digest, cp.digest_blocks, cp.events)


def kinds_of(cp: Checkpoint) -> dict[str, Kind]:
    return {a: Kind(k) for a, k in cp.kinds.items()}
