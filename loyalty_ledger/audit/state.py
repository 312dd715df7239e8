"""The state an audit recomputes, as plain data, and the `Finding` every check reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loyalty_ledger.expiry import PERMANENT, Book, Clock


@dataclass(frozen=True, slots=True)
class Finding:
    """One disagreement or broken rule: `expected` is the audit's value, `actual` the other's."""

    check: str  # invariant | chain | code | mirror | linkage | digest | earnings
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


@dataclass(frozen=True, slots=True)
class Policy:
    """One ExpiryPolicySet: from `from_epoch` on, issued points stay valid `validity` epochs."""

    block: int
    validity: int
    from_epoch: int
    by: str


def _unclocked() -> Book:
    # Until its first ExpiryPolicySet the audit knows no clock; every lot is permanent then,
    # so any clock gives the same answers.
    return Book(Clock(0, 1))


@dataclass(slots=True)
class PointsBook:
    """One brand's points: balances, lots, and the books (issued, redeemed, swapped ...).

    `held` is what the Transfers say each account holds (expired points included); `balances`
    is what `balanceOf` answers at the audited block (live lots only), set by `finish`.
    `issued` / `redeemed` count every PointsIssued / PointsRedeemed, swaps included;
    `swapped_in` / `swapped_out` are the part of them that the exchange made.
    """

    brand_id: str
    address: str
    balances: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    total_supply: int = 0
    minted: int = 0  # ERC-20 Transfer from zero
    burned: int = 0  # ERC-20 Transfer to zero
    issued: int = 0  # PointsIssued
    redeemed: int = 0  # PointsRedeemed
    forfeited: int = 0  # PointsForfeited
    swapped_in: int = 0  # PointsIssued by exchangeIn (reason "exchange")
    swapped_out: int = 0  # PointsRedeemed by exchangeOut (`by` an exchange)
    expired: int = 0  # points of lots whose expiry epoch started by the audited block
    gifted: int = 0
    recovered: int = 0
    issued_by_reason: dict[str, int] = field(default_factory=dict)
    forfeited_by_reason: dict[str, int] = field(default_factory=dict)
    paused: bool = False
    events: int = 0
    lots: Book = field(default_factory=_unclocked)  # the expiry model's book of this program
    clocked: bool = False  # an ExpiryPolicySet gave the clock
    policies: list[Policy] = field(default_factory=list)
    credited_by_expiry: dict[int, int] = field(default_factory=dict)  # issued into lot x
    expired_by_epoch: dict[int, int] = field(default_factory=dict)  # lot x -> expired points
    epoch_at_finish: int = 0  # the audited block's epoch (clocked books)

    @property
    def outstanding(self) -> int:
        """The live points liability at the audited block: the sum of `balanceOf`."""
        return sum(self.balances.values())

    @property
    def supply_by_events(self) -> int:
        """issued + swapped in - redeemed - swapped out - forfeited (= totalSupply)."""
        return self.issued - self.redeemed - self.forfeited

    @property
    def breakage_rate(self) -> float | None:
        """expired / (issued + swapped in), None before anything was issued."""
        return self.expired / self.issued if self.issued else None

    def lots_of(self, holder: str) -> tuple[list[int], list[int], int]:
        """(expiries, amounts) of live expiring lots, soonest first, and the permanent lot, as
        `lotsOf` and `permanentBalanceOf` answer at the audited block."""
        held = self.lots.holdings.get(holder)
        if held is None:
            return [], [], 0
        live = held.live_lots(self.epoch_at_finish) if self.clocked else []
        exp = [(x, a) for x, a in live if x != PERMANENT]
        return [x for x, _ in exp], [a for _, a in exp], held.lots.get(PERMANENT, 0)


@dataclass(slots=True)
class ExchangeBook:
    """One exchange of a CoalitionExchange: terms, state, and what its swaps moved."""

    address: str
    id: int
    from_brand: str
    to_brand: str
    rate_from: int
    rate_to: int
    daily_cap: int
    budget: int
    block: int
    approved_from: bool = False
    approved_to: bool = False
    opened_block: int | None = None
    paused_from: bool = False
    paused_to: bool = False
    paused_operator: bool = False
    swaps: int = 0
    burned: int = 0  # sum of Swapped.amountIn
    issued: int = 0  # sum of Swapped.amountOut
    side_out: int = 0  # burned on fromBrand's side (PointsRedeemed by the exchange)
    side_in: int = 0  # issued on toBrand's side (PointsIssued "exchange")
    spent: dict[tuple[str, int], int] = field(default_factory=dict)  # (member, UTC day) -> in

    @property
    def is_open(self) -> bool:
        return (
            self.approved_from
            and self.approved_to
            and not (self.paused_from or self.paused_to or self.paused_operator)
        )


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
    exchanges: dict[tuple[str, int], ExchangeBook] = field(default_factory=dict)  # (addr, id)
    block_time: int | None = None  # the audited block's timestamp
    members: RegistryState = field(default_factory=RegistryState)
    roles: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (contract, role)
    ever_role: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    role_admin: dict[tuple[str, str], str] = field(default_factory=dict)  # when not the default
    findings: list[Finding] = field(default_factory=list)
    events: int = 0
    unknown: int = 0
