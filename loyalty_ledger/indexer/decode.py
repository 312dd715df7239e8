"""Bulk log decoding: topic0 → precomputed layout, static words sliced by hand, eth_abi for the rest.

Pure functions over the node's JSON logs; the runner, the tests and the audit can share them.
ERC-20 and ERC-721 `Transfer`/`Approval` share a topic0; they differ in their topic count, which
is exactly which kind of contract emitted them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak

from .events import ALL_EVENTS

_STATIC = {"address", "bool", "bytes32"} | {f"uint{n}" for n in range(8, 257, 8)}


@dataclass(frozen=True, slots=True)
class EventSpec:
    """How to decode one event: its name, indexed (name, type) pairs and data (name, type) pairs."""

    name: str
    signature: str
    topic0: str
    indexed: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]
    static_data: bool


def parse_signature(sig: str) -> EventSpec:
    """EventSpec of `Name(type [indexed] name, ...)`."""
    m = re.fullmatch(r"\s*(\w+)\((.*)\)\s*", sig)
    if not m:
        raise ValueError(f"bad event signature {sig!r}")
    name, params = m.group(1), m.group(2).strip()
    indexed: list[tuple[str, str]] = []
    data: list[tuple[str, str]] = []
    types: list[str] = []
    for i, part in enumerate(p.split() for p in params.split(",") if p.strip()):
        typ = part[0]
        pname = part[-1] if len(part) > 1 and part[-1] != "indexed" else f"arg{i}"
        types.append(typ)
        (indexed if "indexed" in part[1:] else data).append((pname, typ))
    canonical = f"{name}({','.join(types)})"
    topic0 = "0x" + keccak(text=canonical).hex()
    static = all(t in _STATIC for _, t in data)
    return EventSpec(name, canonical, topic0, tuple(indexed), tuple(data), static)


SPECS: dict[tuple[str, int], EventSpec] = {}
for _sig in ALL_EVENTS:
    _spec = parse_signature(_sig)
    SPECS[(_spec.topic0, 1 + len(_spec.indexed))] = _spec


def _conv(typ: str) -> Callable[[str], Any]:
    """Converter of one 64-hex-char word of `typ`."""
    if typ == "address":
        return lambda w: "0x" + w[24:]
    if typ == "bytes32":
        return lambda w: "0x" + w
    if typ == "bool":
        return lambda w: w[-1] != "0"
    if typ in _STATIC:
        return lambda w: int(w, 16)
    return lambda w: "0x" + w  # an indexed dynamic value: only its keccak is in the topic


# spec id → ([(name, topic position, converter)], [(name, hex offset, converter)] or None)
_PLANS: dict[int, tuple[list[tuple[str, int, Any]], list[tuple[str, int, Any]] | None]] = {
    id(spec): (
        [(n, i + 1, _conv(t)) for i, (n, t) in enumerate(spec.indexed)],
        [(n, 2 + 64 * i, _conv(t)) for i, (n, t) in enumerate(spec.data)]
        if spec.static_data
        else None,
    )
    for spec in SPECS.values()
}


def _word(typ: str, word: str) -> Any:
    """One 32-byte word (64 hex chars) as the Python value stored in args."""
    if typ == "address":
        return "0x" + word[24:]
    if typ == "bytes32":
        return "0x" + word
    if typ == "bool":
        return word[-1] != "0"
    return int(word, 16)


def _abi_value(typ: str, value: Any) -> Any:
    if typ == "address":
        return value.lower()
    if typ.startswith("bytes"):
        return "0x" + value.hex()
    return value


@dataclass(slots=True)
class Decoded:
    """One decoded log, in the shape of an `event` row plus the spec for derived state."""

    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    contract: str
    event: str
    args: dict[str, Any]
    spec: EventSpec | None

    def row(self, chain_id: int) -> dict[str, Any]:
        return {
            "chain_id": chain_id,
            "block_number": self.block_number,
            "block_hash": self.block_hash,
            "tx_hash": self.tx_hash,
            "tx_index": self.tx_index,
            "log_index": self.log_index,
            "contract": self.contract,
            "event": self.event,
            "args": self.args,
        }


def decode_args(spec: EventSpec, topics: list[str], data: str) -> dict[str, Any]:
    """The arguments of one log of `spec`."""
    topic_plan, data_plan = _PLANS[id(spec)]
    args = {n: conv(topics[i][2:]) for n, i, conv in topic_plan}
    if data_plan is not None:
        if len(data) < 2 + 64 * len(data_plan):
            raise ValueError("log data shorter than its event's layout")
        for n, off, conv in data_plan:
            args[n] = conv(data[off : off + 64])
        return args
    values = abi_decode([t for _, t in spec.data], bytes.fromhex(data[2:]))
    for (name, typ), value in zip(spec.data, values, strict=True):
        args[name] = _abi_value(typ, value)
    return args


def decode_args_reference(spec: EventSpec, topics: list[str], data: str) -> dict[str, Any]:
    """decode_args written plainly (the tests check the fast one against it)."""
    args: dict[str, Any] = {}
    for (name, typ), topic in zip(spec.indexed, topics[1:], strict=True):
        # Indexed dynamic values (string, bytes) are only their keccak: keep the hash.
        args[name] = _word(typ, topic[2:]) if typ in _STATIC else topic
    if spec.data:
        if spec.static_data:
            hexdata = data[2:]
            for i, (name, typ) in enumerate(spec.data):
                args[name] = _word(typ, hexdata[64 * i : 64 * i + 64])
        else:
            values = abi_decode([t for _, t in spec.data], bytes.fromhex(data[2:]))
            for (name, typ), value in zip(spec.data, values, strict=True):
                args[name] = _abi_value(typ, value)
    return args


def decode_logs(logs: Iterable[dict[str, Any]]) -> list[Decoded]:
    """Decode JSON-RPC logs; unknown or malformed logs keep their raw topics and data."""
    out: list[Decoded] = []
    specs = SPECS
    for log in logs:
        topics = log["topics"]
        spec = specs.get((topics[0], len(topics))) if topics else None
        if spec is not None:
            try:
                args = decode_args(spec, topics, log["data"])
                name = spec.name
            except Exception:  # a log that does not fit its declared layout
                spec = None
        if spec is None:
            name = "?"
            args = {"topics": topics, "data": log["data"]}
        out.append(
            Decoded(
                int(log["blockNumber"], 16),
                log["blockHash"],
                log["transactionHash"],
                int(log["transactionIndex"], 16),
                int(log["logIndex"], 16),
                log["address"].lower(),
                name,
                args,
                spec,
            )
        )
    return out
