"""The audit's own log decoder: raw logs in, `Event`s out.

Deliberately independent of `loyalty_ledger.indexer` (a decoding bug shared by the indexer and
the audit would hide in both): topics come from the event signatures written out below (they
mirror `contracts/interfaces/*.sol` and the OpenZeppelin events), ABI words are sliced by hand.
Addresses are lower-case hex strings; amounts and ids are ints; bytes32 values are hex strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from eth_hash.auto import keccak

ZERO_ADDRESS = "0x" + "00" * 20


class Kind(StrEnum):
    """What an emitting contract is, which decides how an ambiguous topic (Transfer) decodes."""

    REGISTRY = "registry"
    POINTS = "points"
    PASS = "pass"
    FORWARDER = "forwarder"


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

    @classmethod
    def from_rpc(cls, d: dict[str, Any]) -> Log:
        return cls(
            int(d["blockNumber"], 16),
            d["blockHash"].lower(),
            d["transactionHash"].lower(),
            int(d["transactionIndex"], 16),
            int(d["logIndex"], 16),
            d["address"].lower(),
            tuple(map(str.lower, d["topics"])),
            d["data"].lower(),
        )


@dataclass(slots=True)
class Event:
    """A decoded log: `name` is the event name ("Unknown" when no signature matched)."""

    log: Log
    kind: Kind
    name: str
    args: dict[str, Any]


# (name, [(field, type, indexed)]) per kind. Types: address uint bool bytes32 string.
_F = tuple[str, str, bool]
_COMMON: list[tuple[str, list[_F]]] = [
    (
        "RoleGranted",
        [("role", "bytes32", True), ("account", "address", True), ("sender", "address", True)],
    ),
    (
        "RoleRevoked",
        [("role", "bytes32", True), ("account", "address", True), ("sender", "address", True)],
    ),
    (
        "RoleAdminChanged",
        [
            ("role", "bytes32", True),
            ("previousAdminRole", "bytes32", True),
            ("newAdminRole", "bytes32", True),
        ],
    ),
    ("Paused", [("account", "address", False)]),
    ("Unpaused", [("account", "address", False)]),
    ("EIP712DomainChanged", []),
]
_SIGNATURES: dict[Kind, list[tuple[str, list[_F]]]] = {
    Kind.REGISTRY: [
        ("MemberRegistered", [("member", "address", True), ("by", "address", True)]),
        ("MemberDeregistered", [("member", "address", True), ("by", "address", True)]),
        ("MemberFrozen", [("member", "address", True), ("by", "address", True)]),
        ("MemberUnfrozen", [("member", "address", True), ("by", "address", True)]),
        (
            "MemberRecovered",
            [
                ("lostWallet", "address", True),
                ("newWallet", "address", True),
                ("by", "address", True),
            ],
        ),
        (
            "ProgramRegistered",
            [
                ("brandId", "bytes32", True),
                ("points", "address", True),
                ("pass", "address", True),
                ("admin", "address", False),
                ("name", "string", False),
            ],
        ),
    ],
    Kind.POINTS: [
        (
            "Transfer",
            [("from", "address", True), ("to", "address", True), ("value", "uint", False)],
        ),
        (
            "Approval",
            [("owner", "address", True), ("spender", "address", True), ("value", "uint", False)],
        ),
        (
            "PointsIssued",
            [
                ("member", "address", True),
                ("amount", "uint", False),
                ("reason", "bytes32", True),
                ("ref", "bytes32", False),
            ],
        ),
        (
            "PointsRedeemed",
            [
                ("member", "address", True),
                ("amount", "uint", False),
                ("ref", "bytes32", False),
                ("by", "address", True),
            ],
        ),
        (
            "PointsForfeited",
            [
                ("member", "address", True),
                ("amount", "uint", False),
                ("reason", "bytes32", True),
                ("by", "address", True),
            ],
        ),
        (
            "PointsGifted",
            [
                ("from", "address", True),
                ("to", "address", True),
                ("amount", "uint", False),
                ("memo", "string", False),
            ],
        ),
        (
            "PointsRecovered",
            [
                ("lostWallet", "address", True),
                ("newWallet", "address", True),
                ("amount", "uint", False),
            ],
        ),
    ],
    Kind.PASS: [
        (
            "Transfer",
            [("from", "address", True), ("to", "address", True), ("tokenId", "uint", True)],
        ),
        (
            "Approval",
            [("owner", "address", True), ("approved", "address", True), ("tokenId", "uint", True)],
        ),
        (
            "ApprovalForAll",
            [
                ("owner", "address", True),
                ("operator", "address", True),
                ("approved", "bool", False),
            ],
        ),
        (
            "PassIssued",
            [
                ("member", "address", True),
                ("tokenId", "uint", True),
                ("tier", "uint8", False),
                ("expiresAt", "uint64", False),
            ],
        ),
        (
            "PassTierChanged",
            [
                ("member", "address", True),
                ("tokenId", "uint", True),
                ("fromTier", "uint8", False),
                ("toTier", "uint8", False),
            ],
        ),
        (
            "PassRenewed",
            [
                ("member", "address", True),
                ("tokenId", "uint", True),
                ("expiresAt", "uint64", False),
            ],
        ),
        ("PassRevoked", [("member", "address", True), ("tokenId", "uint", True)]),
        (
            "PassRecovered",
            [
                ("lostWallet", "address", True),
                ("newWallet", "address", True),
                ("tokenId", "uint", True),
            ],
        ),
        ("TierAdded", [("tier", "uint8", True), ("name", "string", False)]),
        ("TransferabilityChanged", [("transferable", "bool", False)]),
        ("Locked", [("tokenId", "uint", False)]),
        ("Unlocked", [("tokenId", "uint", False)]),
        ("MetadataUpdate", [("_tokenId", "uint", False)]),
        ("BatchMetadataUpdate", [("_fromTokenId", "uint", False), ("_toTokenId", "uint", False)]),
    ],
    Kind.FORWARDER: [
        (
            "ExecutedForwardRequest",
            [("signer", "address", True), ("nonce", "uint", False), ("success", "bool", False)],
        ),
    ],
}
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


@lru_cache(maxsize=65536)  # reason codes repeat: decode each once
def bytes32_text(value: str) -> str:
    """A left-aligned ASCII bytes32 ("purchase") as text; anything else stays hex."""
    raw = bytes.fromhex(value[2:]).rstrip(b"\0")
    if raw and all(32 <= b < 127 for b in raw):
        return raw.decode()
    return value


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
