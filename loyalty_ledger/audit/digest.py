"""The ledger digest: one hash that commits to every network event up to a block.

Definition (version 1). All integers big-endian, hashes are keccak-256, `‖` is concatenation.

    enc(log)      = address (20 bytes) ‖ uint32(logIndex) ‖ transactionHash (32)
                    ‖ uint8(len(topics)) ‖ topics (32 each) ‖ uint32(len(data)) ‖ data
    events(n)     = keccak( enc(l_1) ‖ … ‖ enc(l_k) )
                    over the network's logs l_1..l_k of block n in logIndex order
                    (enc is self-delimiting, so the concatenation is unambiguous)
    digest_genesis= keccak( "loyalty-ledger/audit/digest/v1" ‖ uint64(chainId) ‖ registry (20) )
    digest(n)     = keccak( digest_prev ‖ uint64(n) ‖ blockHash(n) (32) ‖ events(n) )

`digest_prev` is the digest of the previous block that has network events (or the genesis
digest), so only blocks with network events appear in the chain. The network's logs are those
of the registry, of every program contract registered (ProgramRegistered), of the forwarder and
of the coalition exchange (given, or granted EXCHANGE_ROLE on a points contract) up to the
audited block, fetched from the deployment block on. The digest commits to events only, not to
derived state: lots, expiry and swaps are functions of those events (ExpiryPolicySet,
TransferAtEpoch, Swapped ... included) and of block times, which the block hashes commit to.
"Ledger of network X as of block N has digest D" means D is the digest of the last block <= N
with network events.

A digest list (published for re-checking, or read from `--bisect FILE`) is JSON:
    {"version": 1, "chain_id": 31337, "registry": "0x…",
     "digests": [{"block": 12, "block_hash": "0x…", "digest": "0x…"}, …]}
A published list is checked entry by entry against the replay's own chain (`differences`):
each entry's block, block hash and digest must be the replay's, so an entry altered anywhere
in the list is caught, even one whose successors were left as published. Comparing every entry
costs one string comparison each; no entry is skipped on the strength of a later one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from .decode import Log

DOMAIN = b"loyalty-ledger/audit/digest/v1"


@dataclass(frozen=True, slots=True)
class BlockDigest:
    block: int
    block_hash: str
    digest: str

    def as_dict(self) -> dict[str, Any]:
        return {"block": self.block, "block_hash": self.block_hash, "digest": self.digest}


def genesis(chain_id: int, registry: str) -> bytes:
    return keccak(DOMAIN + chain_id.to_bytes(8, "big") + bytes.fromhex(registry[2:]))


def enc_hex(address: str, log_index: int, tx_hash: str, topics: Sequence[str], data: str) -> str:
    """enc(log) as hex (inputs are lower-case 0x-hex strings)."""
    return (
        f"{address[2:]}{log_index:08x}{tx_hash[2:]}{len(topics):02x}"
        + "".join(t[2:] for t in topics)
        + f"{(len(data) - 2) // 2:08x}{data[2:]}"
    )


class DigestChain:
    """Folds logs (in chain order) into per-block digests; keeps the list of them only with
    `keep` (else just the head and the count, so memory does not grow with the chain)."""

    def __init__(self, chain_id: int, registry: str, *, keep: bool = True) -> None:
        self.prev = genesis(chain_id, registry.lower())
        self.blocks: list[BlockDigest] = []
        self.keep = keep
        self.count = 0
        self.last: BlockDigest | None = None
        self._block = -1
        self._hash = ""
        self._leaves: list[str] = []

    def add(self, log: Log) -> None:
        """Fold in one log (a `Log` is lower-case hex already); logs must come in chain order."""
        if log.block_number != self._block:
            self._close()
            self._block, self._hash = log.block_number, log.block_hash
        self._leaves.append(enc_hex(log.address, log.log_index, log.tx_hash, log.topics, log.data))

    def _close(self) -> None:
        if self._block < 0:
            return
        events = keccak(bytes.fromhex("".join(self._leaves)))
        self.prev = keccak(
            self.prev + self._block.to_bytes(8, "big") + bytes.fromhex(self._hash[2:]) + events
        )
        self.last = BlockDigest(self._block, self._hash, "0x" + self.prev.hex())
        self.count += 1
        if self.keep:
            self.blocks.append(self.last)
        self._leaves = []

    def resume(self, head: str, count: int) -> None:
        """Continue a chain whose head digest (after `count` blocks) a checkpoint kept."""
        self.prev, self.count = bytes.fromhex(head[2:]), count

    def finish(self) -> list[BlockDigest]:
        self._close()
        self._block = -1
        return self.blocks

    @property
    def head(self) -> str:
        return "0x" + self.prev.hex()


def digest_logs(chain_id: int, registry: str, logs: Iterable[Log]) -> list[BlockDigest]:
    chain = DigestChain(chain_id, registry)
    for log in logs:
        chain.add(log)
    return chain.finish()


def dump(chain_id: int, registry: str, blocks: Sequence[BlockDigest]) -> dict[str, Any]:
    return {
        "version": 1,
        "chain_id": chain_id,
        "registry": registry.lower(),
        "digests": [b.as_dict() for b in blocks],
    }


def load_list(path: str | Path) -> tuple[dict[str, Any], list[BlockDigest]]:
    """A published list: its header (version, chain_id, registry, as given) and its entries."""
    raw = json.loads(Path(path).read_text())
    items = raw["digests"] if isinstance(raw, dict) else raw
    header = {k: v for k, v in raw.items() if k != "digests"} if isinstance(raw, dict) else {}
    return header, [
        BlockDigest(int(d["block"]), str(d.get("block_hash", "")).lower(), str(d["digest"]).lower())
        for d in items
    ]


def load(path: str | Path) -> list[BlockDigest]:
    return load_list(path)[1]


def header_differences(header: dict[str, Any], chain_id: int, registry: str) -> list[str]:
    """What a list's header claims that is not the audited network (fields it gives only)."""
    out = []
    if "chain_id" in header and int(header["chain_id"]) != chain_id:
        out.append(f"header: chain_id {header['chain_id']}, not {chain_id}")
    if "registry" in header and str(header["registry"]).lower() != registry.lower():
        out.append(f"header: registry {header['registry']}, not {registry.lower()}")
    return out


@dataclass(frozen=True, slots=True)
class EntryDiff:
    """One published entry (index `index` in the list) that is not the replay's."""

    index: int
    block: int
    fields: tuple[str, ...]  # "block", "block_hash", "digest", or "missing" / "extra"

    def describe(self) -> str:
        return f"entry #{self.index} (block {self.block}): {', '.join(self.fields)}"


def _fields(a: BlockDigest, b: BlockDigest) -> tuple[str, ...]:
    out = tuple(f for f in ("block", "digest") if getattr(a, f) != getattr(b, f))
    if a.block_hash and b.block_hash and a.block_hash != b.block_hash:
        out += ("block_hash",)
    return out


def differences(ours: Sequence[BlockDigest], theirs: Sequence[BlockDigest]) -> list[EntryDiff]:
    """Every entry of `theirs` that differs from `ours` at the same index, and the entries
    one list has beyond the other (a block hash left out of a published list is not compared)."""
    out = [
        EntryDiff(i, min(a.block, b.block), f)
        for i, (a, b) in enumerate(zip(ours, theirs, strict=False))
        if (f := _fields(a, b))
    ]
    n = min(len(ours), len(theirs))
    longer, what = (ours, "missing") if len(ours) > n else (theirs, "extra")
    out += [EntryDiff(i, longer[i].block, (what,)) for i in range(n, len(longer))]
    return out


def first_difference(ours: Sequence[BlockDigest], theirs: Sequence[BlockDigest]) -> int | None:
    """The first block at which two digest lists disagree (entry by entry), or None."""
    diffs = differences(ours, theirs)
    return diffs[0].block if diffs else None
