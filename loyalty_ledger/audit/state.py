"""The state an audit recomputes, as plain data, and the `Finding` every check reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Finding:
    """One disagreement or broken rule: `expected` is the audit's value, `actual` the other's."""

    check: str  # invariant | chain | code | mirror | linkage | digest
    code: str  # short name of the rule, e.g. "balance-mismatch"
    key: str  # what it is about, e.g. "points:0xabc…/balance/0xdef…"
    detail: str
    expected: Any = None
    actual: Any = None
    severity: str = "error"  # error | warning

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "code": self.code,
            "key": self.key,
            "detail": self.detail,
            "expected": self.expected,
            "actual": self.actual,
            "severity": self.severity,
        }


@dataclass(slots=True)
class Program:
    brand_id: str
    name: str
    points: str
    pass_: str
    admin: str
    block: int


@dataclass(slots=True)
class PointsBook:
    """One brand's points: balances and the liability by reason."""

    brand_id: str
    address: str
    balances: dict[str, int] = field(default_factory=dict)
    total_supply: int = 0
    minted: int = 0  # ERC-20 Transfer from zero
    burned: int = 0  # ERC-20 Transfer to zero
    issued: int = 0  # PointsIssued
    redeemed: int = 0  # PointsRedeemed
    forfeited: int = 0  # PointsForfeited
    gifted: int = 0
    recovered: int = 0
    issued_by_reason: dict[str, int] = field(default_factory=dict)
    forfeited_by_reason: dict[str, int] = field(default_factory=dict)
    paused: bool = False
    events: int = 0

    @property
    def outstanding(self) -> int:
        """The points liability: issued and neither redeemed nor forfeited."""
        return self.issued - self.redeemed - self.forfeited


@dataclass(slots=True)
class PassRecord:
    token_id: int
    owner: str
    tier: int
    expires_at: int
    locked: bool
    issued_block: int


@dataclass(slots=True)
class PassBook:
    """One brand's membership passes."""

    brand_id: str
    address: str
    passes: dict[int, PassRecord] = field(default_factory=dict)
    holder: dict[str, int] = field(default_factory=dict)  # owner -> token id
    revoked: set[int] = field(default_factory=set)
    ever_owners: set[str] = field(default_factory=set)
    transferable: bool = False
    tiers: dict[int, str] = field(default_factory=dict)
    events: int = 0


@dataclass(frozen=True, slots=True)
class Recovery:
    lost: str
    new: str
    by: str
    block: int
    tx: str


@dataclass(slots=True)
class RegistryState:
    members: set[str] = field(default_factory=set)
    frozen: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)  # every address ever registered
    recoveries: list[Recovery] = field(default_factory=list)
    recovered_to: dict[str, str] = field(default_factory=dict)
    events: int = 0


@dataclass(slots=True)
class LedgerState:
    """Everything the replay knows as of `block`."""

    registry: str
    block: int = 0
    programs: dict[str, Program] = field(default_factory=dict)  # brand id -> program
    points: dict[str, PointsBook] = field(default_factory=dict)  # contract -> book
    passes: dict[str, PassBook] = field(default_factory=dict)  # contract -> book
    members: RegistryState = field(default_factory=RegistryState)
    roles: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (contract, role)
    ever_role: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    role_admin: dict[tuple[str, str], str] = field(default_factory=dict)  # when not the default
    findings: list[Finding] = field(default_factory=list)
    events: int = 0
    unknown: int = 0
