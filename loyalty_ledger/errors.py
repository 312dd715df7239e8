"""One exception tree for the ledger, and the decoder from contract revert data to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    code: ClassVar[str] = "ledger_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LedgerValueError(LedgerError, ValueError):
    """Bad input: callers that expect a builtin can catch ValueError."""

    code = "invalid_value"


class ConfigError(LedgerError):
    """A setting is missing or inconsistent."""

    code = "config_error"


class ArtifactMissing(LedgerError):
    """A compiled contract is not in the artifacts directory."""

    code = "artifact_missing"

    def __init__(self, contract: str, path: str) -> None:
        super().__init__(f"no compiled artifact for {contract} at {path}; run `forge build`")
        self.contract, self.path = contract, path


class NodeUnreachable(LedgerError):
    """No JSON-RPC node answers at the URL."""

    code = "node_unreachable"

    def __init__(self, url: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"no Ethereum node answers at {url}{detail}")
        self.url = url


class WrongChain(LedgerError):
    """The node serves another chain than configured."""

    code = "wrong_chain"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"node is on chain {actual}, expected chain {expected}")
        self.expected, self.actual = expected, actual


class UnknownProgram(LedgerError):
    """No brand program with this id."""

    code = "unknown_program"

    def __init__(self, brand_id: str) -> None:
        super().__init__(f"no program for brand {brand_id!r}")
        self.brand_id = brand_id


class ProgramExists(LedgerError):
    code = "program_exists"

    def __init__(self, brand_id: str) -> None:
        super().__init__(f"a program for brand {brand_id!r} exists already")
        self.brand_id = brand_id


class NotAMember(LedgerError):
    code = "not_a_member"

    def __init__(self, account: str) -> None:
        super().__init__(f"{account} is not a registered member")
        self.account = account


class AlreadyMember(LedgerError):
    code = "already_member"

    def __init__(self, account: str) -> None:
        super().__init__(f"{account} is a registered member already")
        self.account = account


class AccountFrozen(LedgerError):
    code = "account_frozen"

    def __init__(self, account: str) -> None:
        super().__init__(f"account {account} is frozen")
        self.account = account


class NotFrozen(LedgerError):
    code = "not_frozen"

    def __init__(self, account: str) -> None:
        super().__init__(f"account {account} is not frozen")
        self.account = account


class InsufficientPoints(LedgerError):
    code = "insufficient_points"

    def __init__(self, account: str, balance: int, needed: int) -> None:
        super().__init__(f"{account} holds {balance} points, needs {needed}")
        self.account, self.balance, self.needed = account, balance, needed


class InsufficientAllowance(LedgerError):
    code = "insufficient_allowance"

    def __init__(self, spender: str, allowance: int, needed: int) -> None:
        super().__init__(f"{spender} may spend {allowance} points, needs {needed}")
        self.spender, self.allowance, self.needed = spender, allowance, needed


class Unauthorized(LedgerError):
    code = "unauthorized"

    def __init__(self, account: str, role: str = "") -> None:
        need = f" (needs role {role})" if role else ""
        super().__init__(f"{account} is not allowed to do this{need}")
        self.account, self.role = account, role


class PassNotTransferable(LedgerError):
    code = "pass_not_transferable"

    def __init__(self, token_id: int) -> None:
        super().__init__(f"pass {token_id} is soulbound and cannot be transferred")
        self.token_id = token_id


class PassAlreadyHeld(LedgerError):
    code = "pass_already_held"

    def __init__(self, member: str, token_id: int) -> None:
        super().__init__(f"{member} holds pass {token_id} already")
        self.member, self.token_id = member, token_id


class NoPass(LedgerError):
    code = "no_pass"

    def __init__(self, member: str = "", token_id: int | None = None) -> None:
        what = member or f"pass {token_id}"
        super().__init__(f"no pass: {what}" if token_id is not None else f"{what} holds no pass")
        self.member, self.token_id = member, token_id


class SameTier(LedgerError):
    code = "same_tier"

    def __init__(self, tier: int) -> None:
        super().__init__(f"the pass is at tier {tier} already")
        self.tier = tier


class Paused(LedgerError):
    code = "paused"

    def __init__(self) -> None:
        super().__init__("the program is paused")


class NotPaused(LedgerError):
    code = "not_paused"

    def __init__(self) -> None:
        super().__init__("the program is not paused")


class InvalidSignature(LedgerError):
    code = "invalid_signature"

    def __init__(self, signer: str = "", expected: str = "") -> None:
        detail = f": signed by {signer}, expected {expected}" if signer else ""
        super().__init__(f"invalid or already used signature{detail}")
        self.signer, self.expected = signer, expected


class SignatureExpired(LedgerError):
    code = "signature_expired"

    def __init__(self, deadline: int) -> None:
        super().__init__(f"the signature expired at {deadline}")
        self.deadline = deadline


class InvalidAmount(LedgerValueError):
    code = "invalid_amount"

    def __init__(self, value: object, why: str = "must be a positive whole number") -> None:
        super().__init__(f"invalid amount {value!r}: {why}")
        self.value = value


class InvalidAddress(LedgerValueError):
    code = "invalid_address"

    def __init__(self, value: object, why: str = "not a 0x-prefixed 20-byte hex address") -> None:
        super().__init__(f"invalid address {value!r}: {why}")
        self.value = value


class InvalidTier(LedgerValueError):
    code = "invalid_tier"

    def __init__(self, tier: int, tier_count: int) -> None:
        super().__init__(f"tier {tier} does not exist (the program has {tier_count} tiers)")
        self.tier, self.tier_count = tier, tier_count


class InvalidExpiry(LedgerValueError):
    code = "invalid_expiry"

    def __init__(self, expires_at: int) -> None:
        super().__init__(f"expiry {expires_at} is not in the future")
        self.expires_at = expires_at


class InvalidInput(LedgerValueError):
    """Other malformed input (memo too long, bad batch, bad brand id ...)."""

    code = "invalid_input"


class ContractRevert(LedgerError):
    """A revert the decoder has no domain error for."""

    code = "contract_revert"

    def __init__(self, reason: str, data: bytes = b"") -> None:
        super().__init__(f"transaction reverted: {reason}")
        self.reason, self.data = reason, data


# --- decoding -------------------------------------------------------------------------------

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
