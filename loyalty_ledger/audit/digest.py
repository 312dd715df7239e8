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
Because each digest folds in the previous one, two lists agree up to some block and disagree
from it on; `first_difference` finds that block by bisection.
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
    """Folds logs (in chain order) into per-block digests."""

    def __init__(self, chain_id: int, registry: str) -> None:
        self.prev = genesis(chain_id, registry.lower())
        self.blocks: list[BlockDigest] = []
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
        self.blocks.append(BlockDigest(self._block, self._hash, "0x" + self.prev.hex()))
        self._leaves = []

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


def load(path: str | Path) -> list[BlockDigest]:
    raw = json.loads(Path(path).read_text())
    items = raw["digests"] if isinstance(raw, dict) else raw
    return [
        BlockDigest(int(d["block"]), str(d.get("block_hash", "")).lower(), str(d["digest"]).lower())
        for d in items
    ]


def first_difference(ours: Sequence[BlockDigest], theirs: Sequence[BlockDigest]) -> int | None:
    """The first block at which two digest lists disagree, or None when they agree.

    Entry i agrees when both lists have the same block and digest there; since digests chain,
    agreement is a prefix property and a bisection over the index finds where it ends. A list
    that is a strict prefix of the other differs at the first extra block.
    """
    n = min(len(ours), len(theirs))

    def same(i: int) -> bool:
        return ours[i].block == theirs[i].block and ours[i].digest == theirs[i].digest

    lo, hi = 0, n  # invariant: entries < lo agree; the first disagreement is at index <= hi
    while lo < hi:
        mid = (lo + hi) // 2
        if same(mid):
            lo = mid + 1
        else:
            hi = mid
    if lo < n:
        return min(ours[lo].block, theirs[lo].block)
    if len(ours) != len(theirs):
        return (ours if len(ours) > n else theirs)[n].block
    return None
