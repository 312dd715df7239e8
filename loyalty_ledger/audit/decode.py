"""The audit's own log decoder: raw logs in, `Event`s out.

Deliberately independent of `loyalty_ledger.indexer` (a decoding bug shared by the indexer and
the audit would hide in both): the event table is `abi`'s; ABI words are sliced by hand by a
small decoder generated per event shape. Addresses are lower-case hex strings; amounts and ids
are ints; bytes32 values are hex strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loyalty_ledger.validate import text32

from .abi import _F, _TABLE, TOPICS, Kind, encode, signature, topic0

__all__ = [
    "TOPICS",
    "ZERO_ADDRESS",
    "Event",
    "Kind",
    "Log",
    "bytes32_text",
    "decode",
    "encode",
    "signature",
    "topic0",
]

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(slots=True)
class Log:
    """A raw log as the node returned it (hex strings lower-cased)."""

    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str
    topics: tuple[str, ...]
    data: str
    block_time: int | None = None  # the block's timestamp, when the node gave it (or fetched)

    @classmethod
    def from_rpc(cls, d: dict[str, Any]) -> Log:
        ts = d.get("blockTimestamp")
        return cls(
            int(d["blockNumber"], 16),
            d["blockHash"].lower(),
            d["transactionHash"].lower(),
            int(d["transactionIndex"], 16),
            int(d["logIndex"], 16),
            d["address"].lower(),
            tuple(map(str.lower, d["topics"])),
            d["data"].lower(),
            int(ts, 16) if ts else None,
        )


@dataclass(slots=True)
class Event:
    """A decoded log: `name` is the event name ("Unknown" when no signature matched)."""

    log: Log
    kind: Kind
    name: str
    args: dict[str, Any]


# (name, [(field, type, indexed)]) per kind. Types: address uint bool bytes32 string.


def _string(data: str, head: str) -> str:
    off = 2 + 2 * int(head, 16)
    n = int(data[off : off + 64], 16)
    return bytes.fromhex(data[off + 64 : off + 64 + 2 * n]).decode("utf-8", "replace")


def _expr(ftype: str, indexed: bool, slot: int) -> str:
    """Python source reading one argument from `topics` / `data` (hex strings)."""
    if indexed:
        word, start = f"topics[{slot}]", 2
        if ftype == "bytes32":
            return word  # already "0x" + 64 hex digits
    else:
        word, start = "data", 2 + 64 * slot
    if ftype == "address":
        return f"'0x' + {word}[{start + 24}:{start + 64}]"
    raw = f"{word}[{start}:{start + 64}]"
    if ftype == "bytes32":
        return f"'0x' + {raw}"
    if ftype == "bool":
        return f"int({raw}, 16) != 0"
    if ftype == "string":
        return f"_string(data, {raw})"
    return f"int({raw}, 16)"


def _compile(fields: list[_F]) -> Any:
    """A decoder function for one event shape, generated once (the replay's hot path)."""
    ti = di = 0
    items = []
    for fname, ftype, indexed in fields:
        if indexed:
            ti += 1
            items.append(f"{fname!r}: {_expr(ftype, True, ti)}")
        else:
            items.append(f"{fname!r}: {_expr(ftype, False, di)}")
            di += 1
    src = f"def _d(topics, data):\n    return {{{', '.join(items)}}}\n"
    scope: dict[str, Any] = {"_string": _string}
    exec(compile(src, "<audit-decoder>", "exec"), scope)  # source built above from our ABI table
    return scope["_d"]


_DECODERS: dict[tuple[Kind, str, int], tuple[str, Any]] = {
    key: (name, _compile(fields)) for key, (name, fields) in _TABLE.items()
}


def decode(log: Log, kind: Kind) -> Event:
    """Decode one log emitted by a contract of `kind`; unknown shapes give name "Unknown"."""
    topics = log.topics
    spec = _DECODERS.get((kind, topics[0], len(topics))) if topics else None
    if spec is None:
        return Event(log, kind, "Unknown", {})
    try:
        return Event(log, kind, spec[0], spec[1](topics, log.data))
    except (ValueError, IndexError):  # data too short for the signature: not our event
        return Event(log, kind, "Unknown", {})


# A bytes32 code or reference as text: the project's one definition (the mirror stores the same).
bytes32_text = text32
