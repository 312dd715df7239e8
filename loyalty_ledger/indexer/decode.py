"""Bulk log decoding: topic0 → precomputed layout, generated straight-line decoders.

Static words are sliced from the hex by hand; eth_abi decodes only dynamic data (strings).
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


def _topic_expr(typ: str, i: int) -> str:
    if typ == "address":
        return f'"0x" + t[{i}][26:]'
    if typ == "bool":
        return f't[{i}][-1] != "0"'
    if typ in _STATIC and typ != "bytes32":
        return f"int(t[{i}], 16)"
    return f"t[{i}]"  # bytes32, or an indexed dynamic value (only its keccak is in the topic)


def _word_expr(typ: str, off: int) -> str:
    if typ == "address":
        return f'"0x" + d[{off + 24}:{off + 64}]'
    if typ == "bytes32":
        return f'"0x" + d[{off}:{off + 64}]'
    if typ == "bool":
        return f'd[{off + 63}] != "0"'
    return f"int(d[{off}:{off + 64}], 16)"


def _compile(spec: EventSpec) -> Callable[[list[str], str], dict[str, Any]]:
    """A decoder for one event, generated as straight-line Python (no per-field loop)."""
    items = [f"{n!r}: {_topic_expr(t, i + 1)}" for i, (n, t) in enumerate(spec.indexed)]
    lines = ["def _decode(t, d):"]
    if spec.static_data:
        need = 2 + 64 * len(spec.data)
        items += [f"{n!r}: {_word_expr(t, 2 + 64 * i)}" for i, (n, t) in enumerate(spec.data)]
        if spec.data:
            lines.append(f"    if len(d) < {need}: raise ValueError('log data too short')")
        lines.append("    return {" + ", ".join(items) + "}")
    else:
        lines.append("    args = {" + ", ".join(items) + "}")
        lines.append("    args.update(_dynamic(spec, d))")
        lines.append("    return args")
    scope: dict[str, Any] = {"_dynamic": _dynamic_data, "spec": spec}
    exec("\n".join(lines), scope)  # source built from our own event table
    return scope["_decode"]  # type: ignore[no-any-return]


def _dynamic_data(spec: EventSpec, data: str) -> dict[str, Any]:
    values = abi_decode([t for _, t in spec.data], bytes.fromhex(data[2:]))
    return {n: _abi_value(t, v) for (n, t), v in zip(spec.data, values, strict=True)}


_DECODERS: dict[int, Callable[[list[str], str], dict[str, Any]]] = {}


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


for _spec in SPECS.values():
    _DECODERS[id(_spec)] = _compile(_spec)


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
    block_time: int | None = None
    """The block's timestamp (seconds); None until filled from the header when the node's log
    had no `blockTimestamp`."""

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
    return _DECODERS[id(spec)](topics, data)


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
    """Decode JSON-RPC logs; unknown or malformed logs keep their raw topics and data.

    The result is in chain order without duplicates even when the node's answer was not.
    """
    out: list[Decoded] = []
    append = out.append
    specs = SPECS
    decoders = _DECODERS
    last = (-1, -1)
    ordered = True
    for log in logs:
        topics = log["topics"]
        spec = specs.get((topics[0], len(topics))) if topics else None
        args: dict[str, Any] | None = None
        if spec is not None:
            try:
                args = decoders[id(spec)](topics, log["data"])
            except Exception:  # a log that does not fit its declared layout
                spec = None
        if args is None:
            args = {"topics": topics, "data": log["data"]}
        key = (int(log["blockNumber"], 16), int(log["logIndex"], 16))
        ts = log.get("blockTimestamp")
        if key <= last:
            ordered = False
        last = key
        append(
            Decoded(
                key[0],
                log["blockHash"],
                log["transactionHash"],
                int(log["transactionIndex"], 16),
                key[1],
                log["address"].lower(),
                spec.name if spec is not None else "?",
                args,
                spec,
                int(ts, 16) if ts else None,
            )
        )
    if not ordered:
        unique = {(e.block_number, e.log_index): e for e in out}
        out = [unique[k] for k in sorted(unique)]
    return out
