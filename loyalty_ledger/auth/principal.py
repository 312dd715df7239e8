"""Who is calling (`Principal`), the roles and key kinds, and the authentication errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from loyalty_ledger.errors import LedgerError

BRAND_ROLES = ("issuer", "redeemer", "perk_manager", "viewer", "cashier")
KEY_KINDS = ("brand", "operator", "auditor")
NONCE_TTL = 600  # seconds a sign-in nonce may wait for its signature
SESSION_TTL = 900  # seconds a customer session lives
FRESH_AUTH = 300  # seconds a sign-in or step-up counts as fresh (key export, large gifts)
CLOCK_SKEW = 60  # seconds of tolerated clock difference for issued-at in the future
KEY_CACHE_TTL = 2.0  # seconds a verified key is trusted without a DB read (revocation latency)


class AuthenticationFailed(LedgerError):
    """No valid credentials (HTTP 401)."""

    code = "unauthenticated"


class Forbidden(LedgerError):
    """Valid credentials without the right to do this (HTTP 403)."""

    code = "forbidden"


class SiweRejected(AuthenticationFailed):
    """A sign-in message that parses but must not open a session."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]


class MalformedSiwe(LedgerError):
    """A sign-in message that is not valid EIP-4361 text (HTTP 400)."""

    code = "malformed_message"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    kind: str  # customer | brand | operator | auditor
    address: str | None = None  # customers
    brand_id: str | None = None  # brand keys
    roles: frozenset[str] = field(default_factory=frozenset)
    key_id: str | None = None
    session_id: str | None = None  # customers: the session row (sign-out, step-up)
    auth_at: int | None = None  # customers: when they last proved presence (Unix seconds)

    def can_read_brand(self, brand_id: str) -> bool:
        return self.kind in ("operator", "auditor") or (
            self.kind == "brand" and self.brand_id == brand_id
        )

    def has_brand_role(self, brand_id: str, role: str) -> bool:
        """Write access to a brand: its own key with `role`, or the operator."""
        if self.kind == "operator":
            return True
        return self.kind == "brand" and self.brand_id == brand_id and role in self.roles

    def can_read_member(self, address: str) -> bool:
        """Customers see only themselves; brand keys, the operator and auditors see anyone."""
        if self.kind == "customer":
            return self.address == address
        return True


class RateLimited(LedgerError):
    """Too many attempts: try again after `retry_after` seconds (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(f"{message}; try again in {retry_after} s")
        self.retry_after = retry_after


class StepUpRequired(LedgerError):
    """This needs a fresh passkey assertion or email code (HTTP 403, `step_up_required`)."""

    code = "step_up_required"
