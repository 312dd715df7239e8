"""The network's events as the audit knows them: signatures, topics, and an encoder.

Written out here from `contracts/interfaces/*.sol` and the OpenZeppelin events, deliberately
not shared with `loyalty_ledger.indexer` (a table bug shared by both would hide in both).
"""

from __future__ import annotations

from typing import Any

from eth_hash.auto import keccak

from .abi_events import _COMMON, _F, _SIGNATURES, Kind

__all__ = ["TOPICS", "Kind", "encode", "signature", "topic0"]

_ABI_TYPE = {
    "address": "address",
    "uint": "uint256",
    "uint8": "uint8",
    "uint64": "uint64",
    "bool": "bool",
    "bytes32": "bytes32",
    "string": "string",
}


def signature(name: str, fields: list[_F]) -> str:
    return f"{name}({','.join(_ABI_TYPE[t] for _, t, _ in fields)})"


def topic0(sig: str) -> str:
    return "0x" + keccak(sig.encode()).hex()


# (kind, topic0, number of topics) -> (name, fields). The topic count separates ERC-20 from
# ERC-721 Transfer/Approval should a contract of one kind ever emit the other's shape.
_TABLE: dict[tuple[Kind, str, int], tuple[str, list[_F]]] = {}
TOPICS: dict[str, str] = {}  # event name -> topic0 (names are unique per signature here)
for _kind, _events in _SIGNATURES.items():
    for _name, _fields in [*_events, *_COMMON]:
        _t0 = topic0(signature(_name, _fields))
        _TABLE[(_kind, _t0, 1 + sum(1 for f in _fields if f[2]))] = (_name, _fields)
        TOPICS.setdefault(_name, _t0)


_BY_NAME: dict[tuple[Kind, str], tuple[str, list[_F]]] = {
    (k, spec[0]): spec for (k, _t0, _n), spec in _TABLE.items()
}


def _enc_word(t: str, v: Any) -> str:
    if t == "address":
        return str(v).lower()[2:].rjust(64, "0")
    if t == "bytes32":
        return str(v).lower()[2:].ljust(64, "0")
    if t == "bool":
        return f"{int(bool(v)):064x}"
    return f"{int(v):064x}"


def encode(kind: Kind, name: str, args: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    """The raw (topics, data) of an event from its decoded args: the inverse of `decode`.

    Used to rebuild a mirror's logs for the digest; raises KeyError for an unknown event or a
    missing argument.
    """
    ev_name, fields = _BY_NAME[(kind, name)]
    topics = [topic0(signature(ev_name, fields))]
    heads: list[str | None] = []
    tails: list[str] = []
    for fname, ftype, indexed in fields:
        v = args[fname]
        if indexed:
            topics.append("0x" + _enc_word(ftype, v))
        elif ftype == "string":
            raw = str(v).encode()
            pad = (-len(raw)) % 32
            heads.append(None)
            tails.append(f"{len(raw):064x}" + raw.hex() + "00" * pad)
        else:
            heads.append(_enc_word(ftype, v))
    offset = 32 * len(heads)
    out, ti = [], 0
    for h in heads:
        if h is None:
            out.append(f"{offset:064x}")
            offset += len(tails[ti]) // 2
            ti += 1
        else:
            out.append(h)
    return tuple(topics), "0x" + "".join(out) + "".join(tails)
