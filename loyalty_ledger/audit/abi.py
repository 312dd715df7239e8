"""The network's events as the audit knows them: signatures, topics, and an encoder.

Written out here from `contracts/interfaces/*.sol` and the OpenZeppelin events, deliberately
not shared with `loyalty_ledger.indexer` (a table bug shared by both would hide in both).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from eth_hash.auto import keccak


class Kind(StrEnum):
    """What an emitting contract is, which decides how an ambiguous topic (Transfer) decodes."""

    REGISTRY = "registry"
    POINTS = "points"
    PASS = "pass"
    FORWARDER = "forwarder"


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
