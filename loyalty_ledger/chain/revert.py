"""Decoding contract revert data (custom errors of every ABI we deploy, and OpenZeppelin's)
into the domain exceptions of `errors`, with the decoded arguments."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from loyalty_ledger.errors import (
    AccountFrozen,
    AlreadyMember,
    ContractRevert,
    ExchangeAlreadyApproved,
    ExchangeBudgetExceeded,
    ExchangeDailyCapExceeded,
    ExchangeNotApproved,
    ExchangeNotPausedBy,
    ExchangePaused,
    ExchangeTooSmall,
    InsufficientAllowance,
    InsufficientPoints,
    InvalidAddress,
    InvalidAmount,
    InvalidExpiry,
    InvalidInput,
    InvalidSignature,
    InvalidTier,
    LedgerError,
    NoPass,
    NotAMember,
    NotFrozen,
    NotPaused,
    PassAlreadyHeld,
    PassNotTransferable,
    Paused,
    PointsExpired,
    ProgramExists,
    SameTier,
    SignatureExpired,
    Unauthorized,
    UnknownExchange,
    UnknownProgram,
)

Factory = Callable[[Sequence[Any]], LedgerError]


def _str(a: Any) -> str:
    """Decoded value as text; addresses in checksum form."""
    if isinstance(a, str) and len(a) == 42 and a.startswith("0x"):
        return str(to_checksum_address(a))
    return str(a)


def _role(role: Any) -> str:
    return "0x" + bytes(role).hex() if isinstance(role, bytes | bytearray) else str(role)


def _account(cls: Callable[[str], LedgerError]) -> Factory:
    return lambda a: cls(_str(a[0]))


# Contract error name -> domain exception. Unlisted errors become ContractRevert.
ERROR_MAP: dict[str, Factory] = {
    "PointsNotAMember": _account(NotAMember),
    "PassNotAMember": _account(NotAMember),
    "RegistryNotAMember": _account(NotAMember),
    "RegistryAlreadyMember": _account(AlreadyMember),
    "PointsAccountFrozen": _account(AccountFrozen),
    "PassAccountFrozen": _account(AccountFrozen),
    "RegistryAccountFrozen": _account(AccountFrozen),
    "RegistryNotFrozen": _account(NotFrozen),
    "RegistryZeroAddress": lambda a: InvalidAddress("0x" + "00" * 20, "the zero address"),
    "RegistrySameAccount": lambda a: InvalidAddress(_str(a[0]), "cannot recover to itself"),
    "RegistryProgramExists": lambda a: ProgramExists(decode_brand_id(a[0])),
    "RegistryUnknownProgram": lambda a: UnknownProgram(decode_brand_id(a[0])),
    "PointsZeroAmount": lambda a: InvalidAmount(0),
    "PointsBadBatch": lambda a: InvalidInput(f"bad batch: {a[0]} members, {a[1]} amounts"),
    "PointsMemoTooLong": lambda a: InvalidInput(f"memo is {a[0]} bytes, at most {a[1]}"),
    "PointsOnlyRegistry": lambda a: Unauthorized(_str(a[0]), "registry"),
    "PassOnlyRegistry": lambda a: Unauthorized(_str(a[0]), "registry"),
    "PassAlreadyHeld": lambda a: PassAlreadyHeld(_str(a[0]), int(a[1])),
    "PassNotHeld": lambda a: NoPass(_str(a[0])),
    "PassNotTransferable": lambda a: PassNotTransferable(int(a[0])),
    "PassUnknownTier": lambda a: InvalidTier(int(a[0]), int(a[1])),
    "PassExpiryInPast": lambda a: InvalidExpiry(int(a[0])),
    "PassSameTier": lambda a: SameTier(int(a[0])),
    "PassBadTierCount": lambda a: InvalidInput(f"a program needs 1 to 255 tiers, got {a[0]}"),
    "RegistryProgramMismatch": lambda a: InvalidInput(
        f"contracts {a[1]} / {a[2]} do not belong to brand {decode_brand_id(a[0])!r}"
    ),
    "ERC20InsufficientBalance": lambda a: InsufficientPoints(_str(a[0]), int(a[1]), int(a[2])),
    "ERC20InsufficientAllowance": lambda a: InsufficientAllowance(_str(a[0]), int(a[1]), int(a[2])),
    "ERC20InvalidReceiver": lambda a: InvalidAddress(_str(a[0]), "invalid receiver"),
    "ERC20InvalidSender": lambda a: InvalidAddress(_str(a[0]), "invalid sender"),
    "ERC721InvalidReceiver": lambda a: InvalidAddress(_str(a[0]), "invalid receiver"),
    "ERC721NonexistentToken": lambda a: NoPass(token_id=int(a[0])),
    "ERC721IncorrectOwner": lambda a: Unauthorized(_str(a[0])),
    "ERC721InsufficientApproval": lambda a: Unauthorized(_str(a[0])),
    "AccessControlUnauthorizedAccount": lambda a: Unauthorized(_str(a[0]), _role(a[1])),
    "AccessControlBadConfirmation": lambda a: Unauthorized("caller"),
    "EnforcedPause": lambda a: Paused(),
    "ExpectedPause": lambda a: NotPaused(),
    "ERC2771ForwarderExpiredRequest": lambda a: SignatureExpired(int(a[0])),
    "ERC2771ForwarderInvalidSigner": lambda a: InvalidSignature(_str(a[0]), _str(a[1])),
    "ERC2771UntrustfulTarget": lambda a: Unauthorized(_str(a[1]), "trusted forwarder"),
    "ERC2612ExpiredSignature": lambda a: SignatureExpired(int(a[0])),
    "ERC2612InvalidSigner": lambda a: InvalidSignature(_str(a[0]), _str(a[1])),
    "InvalidAccountNonce": lambda a: InvalidSignature(_str(a[0])),
    "ECDSAInvalidSignature": lambda a: InvalidSignature(),
    "ECDSAInvalidSignatureLength": lambda a: InvalidSignature(),
    "ECDSAInvalidSignatureS": lambda a: InvalidSignature(),
    # point expiry (ERC-7818)
    "PointsBadEpochLength": lambda a: InvalidInput("an expiry epoch lasts at least one second"),
    "PointsValidityTooLong": lambda a: InvalidInput(
        f"a validity of {a[0]} epochs is longer than the maximum {a[1]}"
    ),
    "PointsAmountTooLarge": lambda a: InvalidAmount(
        int(a[0]), f"one expiring lot holds at most {a[1]} points"
    ),
    "ERC7818TransferredExpiredToken": lambda a: PointsExpired(_str(a[0]), int(a[1])),
    # coalition exchange
    "ExchangeUnknown": lambda a: UnknownExchange(int(a[0])),
    "ExchangeSameBrand": lambda a: InvalidInput(
        f"an exchange needs two brands, not {decode_brand_id(a[0])!r} twice"
    ),
    "ExchangeBadTerms": lambda a: InvalidInput(
        f"rates, daily cap and budget must be positive (got {a[0]}:{a[1]}, cap {a[2]}, "
        f"budget {a[3]})"
    ),
    "ExchangeNotOperator": lambda a: Unauthorized(_str(a[0]), "network operator"),
    "ExchangeNotAuthorized": lambda a: Unauthorized(
        _str(a[1]), f"admin of a brand of exchange {a[0]}, or the operator"
    ),
    "ExchangeAlreadyApproved": lambda a: ExchangeAlreadyApproved(int(a[0]), decode_brand_id(a[1])),
    "ExchangeNotApproved": lambda a: ExchangeNotApproved(int(a[0])),
    "ExchangePaused": lambda a: ExchangePaused(int(a[0])),
    "ExchangeNotPausedBy": lambda a: ExchangeNotPausedBy(int(a[0]), _str(a[1])),
    "ExchangeTooSmall": lambda a: ExchangeTooSmall(int(a[0]), int(a[1])),
    "ExchangeDailyCapExceeded": lambda a: ExchangeDailyCapExceeded(
        int(a[0]), _str(a[1]), int(a[2]), int(a[3])
    ),
    "ExchangeBudgetExceeded": lambda a: ExchangeBudgetExceeded(int(a[0]), int(a[1]), int(a[2])),
}

# OZ errors we always know, whether or not an artifact carries them.
_BUILTIN_ERRORS = [
    "Error(string)",
    "Panic(uint256)",
    "ERC20InsufficientBalance(address,uint256,uint256)",
    "ERC20InsufficientAllowance(address,uint256,uint256)",
    "AccessControlUnauthorizedAccount(address,bytes32)",
    "EnforcedPause()",
    "ExpectedPause()",
    "ERC2771ForwarderExpiredRequest(uint48)",
    "ERC2771ForwarderInvalidSigner(address,address)",
    "ERC2771UntrustfulTarget(address,address)",
    "ERC2612ExpiredSignature(uint256)",
    "ERC2612InvalidSigner(address,address)",
    "ERC721NonexistentToken(uint256)",
    "FailedCall()",
]


def decode_brand_id(raw: bytes) -> str:
    """bytes32 brand id -> its ASCII text."""
    return bytes(raw).rstrip(b"\0").decode("ascii", errors="replace")


def _canonical_type(item: Mapping[str, Any]) -> str:
    t = str(item["type"])
    if t.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item.get("components", []))
        return f"({inner}){t[5:]}"
    return t


class ErrorDecoder:
    """Maps 4-byte selectors from ABIs (and OZ's well-known errors) to domain exceptions."""

    def __init__(self, abis: Iterable[Sequence[Mapping[str, Any]]] = ()) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {}
        for sig in _BUILTIN_ERRORS:
            name, args = sig[:-1].split("(", 1)
            self._add(name, [t for t in args.split(",") if t])
        for abi in abis:
            self.add_abi(abi)

    def _add(self, name: str, types: list[str]) -> None:
        selector = keccak(text=f"{name}({','.join(types)})")[:4]
        self._errors[selector] = (name, types)

    def add_abi(self, abi: Sequence[Mapping[str, Any]]) -> None:
        for item in abi:
            if item.get("type") == "error":
                self._add(str(item["name"]), [_canonical_type(i) for i in item.get("inputs", [])])

    def decode(self, data: bytes | str | None) -> LedgerError:
        """Revert data -> the matching LedgerError (ContractRevert when unknown)."""
        raw = _to_bytes(data)
        if len(raw) < 4:
            return ContractRevert("no reason given", raw)
        known = self._errors.get(raw[:4])
        if known is None:
            return ContractRevert(f"unknown error 0x{raw[:4].hex()}", raw)
        name, types = known
        try:
            args = list(abi_decode(types, raw[4:]))
        except Exception:
            return ContractRevert(f"{name} (undecodable arguments)", raw)
        if name == "Error":
            return ContractRevert(str(args[0]), raw)
        if name == "Panic":
            return ContractRevert(f"panic 0x{int(args[0]):02x}", raw)
        factory = ERROR_MAP.get(name)
        if factory is None:
            rendered = ", ".join(str(a) for a in args)
            return ContractRevert(f"{name}({rendered})", raw)
        err = factory(args)
        err.contract_error = name  # type: ignore[attr-defined]
        return err


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    text = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
