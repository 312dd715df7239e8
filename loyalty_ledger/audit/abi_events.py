"""The network's event signatures, written out from `contracts/interfaces/*.sol` and the
OpenZeppelin events (see `abi`)."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What an emitting contract is, which decides how an ambiguous topic (Transfer) decodes."""

    REGISTRY = "registry"
    POINTS = "points"
    PASS = "pass"
    FORWARDER = "forwarder"
    EXCHANGE = "exchange"


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
        (
            "ExpiryPolicySet",
            [
                ("validityEpochs", "uint", False),
                ("fromEpoch", "uint", False),
                ("epochZero", "uint", False),
                ("epochLength", "uint", False),
                ("by", "address", True),
            ],
        ),
        (
            "TransferAtEpoch",
            [
                ("from", "address", True),
                ("to", "address", True),
                ("epoch", "uint", False),
                ("value", "uint", False),
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
    Kind.EXCHANGE: [
        (
            "ExchangeRegistered",
            [
                ("id", "uint", True),
                ("fromBrand", "bytes32", True),
                ("toBrand", "bytes32", True),
                ("rateFrom", "uint", False),
                ("rateTo", "uint", False),
                ("dailyCap", "uint", False),
                ("budget", "uint", False),
            ],
        ),
        (
            "ExchangeApproved",
            [("id", "uint", True), ("brandId", "bytes32", True), ("by", "address", False)],
        ),
        ("ExchangeOpened", [("id", "uint", True)]),
        (
            "ExchangePauseSet",
            [
                ("id", "uint", True),
                ("brandId", "bytes32", True),
                ("by", "address", False),
                ("paused", "bool", False),
            ],
        ),
        (
            "Swapped",
            [
                ("id", "uint", True),
                ("member", "address", True),
                ("fromBrand", "bytes32", False),
                ("amountIn", "uint", False),
                ("toBrand", "bytes32", False),
                ("amountOut", "uint", False),
                ("rateFrom", "uint", False),
                ("rateTo", "uint", False),
            ],
        ),
    ],
    Kind.FORWARDER: [
        (
            "ExecutedForwardRequest",
            [("signer", "address", True), ("nonce", "uint", False), ("success", "bool", False)],
        ),
    ],
}
