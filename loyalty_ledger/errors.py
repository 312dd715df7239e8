"""One exception tree for the ledger; `revert` decodes contract reverts into it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar


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


class KeyMissing(ConfigError):
    """No signing key for a role or brand: the brand stays read-only."""

    code = "key_missing"

    def __init__(self, name: str, how: str) -> None:
        super().__init__(f"no signing key for {name}: {how}")
        self.name = name


class KeyMisuse(LedgerError):
    """A key was asked to sign something outside what it may sign (a brand's key, another's)."""

    code = "key_misuse"

    def __init__(self, name: str, target: str) -> None:
        super().__init__(f"the {name} key may not sign a transaction to {target}")
        self.name, self.target = name, target


class UnknownOperation(LedgerError):
    """No queued chain write with this id."""

    code = "unknown_operation"


class ArtifactMissing(LedgerError):
    """A compiled contract is not in the artifacts directory."""

    code = "artifact_missing"

    def __init__(self, contract: str, path: str) -> None:
        super().__init__(
            f"no compiled artifact for {contract} at {path}; run `scripts/forge build`"
        )
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


class UnknownProgram(LedgerValueError):
    """No brand program with this id (invalid input: the CLI exits 2, the API answers 404)."""

    code = "unknown_program"

    def __init__(self, brand_id: str, known: Iterable[str] | None = None) -> None:
        names = sorted(known) if known is not None else None
        hint = "" if names is None else f" (known brands: {', '.join(names) or 'none yet'})"
        super().__init__(f"no program for brand {brand_id!r}{hint}")
        self.brand_id, self.known = brand_id, names


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


class AlreadyIssued(LedgerValueError):
    """A batch issue named refs that were issued before (or are ambiguous)."""

    code = "already_issued"

    def __init__(self, message: str, refs: list[str]) -> None:
        super().__init__(message)
        self.refs = refs


class ContractRevert(LedgerError):
    """A revert the decoder has no domain error for."""

    code = "contract_revert"

    def __init__(self, reason: str, data: bytes = b"") -> None:
        super().__init__(f"transaction reverted: {reason}")
        self.reason, self.data = reason, data


# --- point expiry (ERC-7818 lots) -----------------------------------------------------------


class PointsExpired(LedgerError):
    """A transfer named a lot whose expiry epoch has started (ERC-7818)."""

    code = "points_expired"

    def __init__(self, account: str, epoch: int) -> None:
        super().__init__(f"{account}'s points of lot {epoch} have expired")
        self.account, self.epoch = account, epoch


# --- coalition exchange ---------------------------------------------------------------------


class UnknownExchange(LedgerError):
    code = "unknown_exchange"

    def __init__(self, exchange_id: int) -> None:
        super().__init__(f"no exchange {exchange_id}")
        self.exchange_id = exchange_id


class ExchangeNotApproved(LedgerError):
    """The exchange still waits for a brand's approval."""

    code = "exchange_not_approved"

    def __init__(self, exchange_id: int) -> None:
        super().__init__(f"exchange {exchange_id} is not open: it waits for a brand's approval")
        self.exchange_id = exchange_id


class ExchangeAlreadyApproved(LedgerError):
    code = "exchange_already_approved"

    def __init__(self, exchange_id: int, brand_id: str) -> None:
        super().__init__(f"brand {brand_id!r} approved exchange {exchange_id} already")
        self.exchange_id, self.brand_id = exchange_id, brand_id


class ExchangePaused(Paused):
    """A brand admin or the operator paused the exchange (a Paused, for uniform handling)."""

    code = "exchange_paused"

    def __init__(self, exchange_id: int) -> None:
        LedgerError.__init__(self, f"exchange {exchange_id} is paused")
        self.exchange_id = exchange_id


class ExchangeNotPausedBy(NotPaused):
    """Unpause by someone whose own pause is not set."""

    code = "exchange_not_paused"

    def __init__(self, exchange_id: int, account: str) -> None:
        LedgerError.__init__(self, f"{account} has not paused exchange {exchange_id}")
        self.exchange_id, self.account = exchange_id, account


class ExchangeTooSmall(LedgerValueError):
    code = "exchange_too_small"

    def __init__(self, amount_in: int, minimum: int) -> None:
        super().__init__(
            f"{amount_in} points buy nothing on this exchange; swap at least {minimum}"
        )
        self.amount_in, self.minimum = amount_in, minimum


class ExchangeDailyCapExceeded(LedgerError):
    code = "exchange_daily_cap_exceeded"

    def __init__(self, exchange_id: int, member: str, requested: int, remaining: int) -> None:
        super().__init__(
            f"{member} may swap only {remaining} more points today on exchange {exchange_id}, "
            f"not {requested}"
        )
        self.exchange_id, self.member = exchange_id, member
        self.requested, self.remaining = requested, remaining


class ExchangeBudgetExceeded(LedgerError):
    code = "exchange_budget_exceeded"

    def __init__(self, exchange_id: int, requested: int, remaining: int) -> None:
        super().__init__(
            f"exchange {exchange_id} may issue only {remaining} more points, not {requested}"
        )
        self.exchange_id, self.requested, self.remaining = exchange_id, requested, remaining


class IdempotencyConflict(LedgerError):
    """An idempotency key (Idempotency-Key, order id, action id) reused for another request."""

    code = "idempotency_conflict"


class NotFound(LedgerError):
    """No such record (a profile, a segment, a notification, a webhook endpoint)."""

    code = "not_found"
