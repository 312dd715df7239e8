"""The coalition exchange: brand A's points for brand B's at an agreed rate (operator registers,
both brand admins approve, members swap within a daily cap and a total budget).

Keyword-only operations like `ledger`; every transaction is pre-flighted by the `Sender`, so a
refused one raises its domain error (ExchangePaused, ExchangeDailyCapExceeded ...) and sends
nothing. Gasless swaps: `gasless.relay_swap`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.chain.revert import decode_brand_id
from loyalty_ledger.chain.sender import Receipt, Sender, reverts_decoded
from loyalty_ledger.errors import InvalidInput, LedgerError
from loyalty_ledger.validate import brand_id_bytes, checksum_address, positive_amount

EXCHANGE_ROLE = keccak(text="EXCHANGE_ROLE")
"""The role on a points contract that lets the exchange burn and issue for swaps."""
UINT128_MAX = 2**128 - 1


@dataclass(frozen=True)
class ExchangeInfo:
    """One exchange's terms and state (`exchangeOf`)."""

    id: int
    from_brand: str
    to_brand: str
    rate_from: int
    rate_to: int
    daily_cap: int
    budget: int
    issued: int
    approved_from: bool
    approved_to: bool
    paused_from: bool
    paused_to: bool
    paused_operator: bool

    @property
    def approved(self) -> bool:
        return self.approved_from and self.approved_to

    @property
    def paused(self) -> bool:
        return self.paused_from or self.paused_to or self.paused_operator

    @property
    def status(self) -> str:
        """open, paused (approved but paused) or pending (waiting for an approval)."""
        if not self.approved:
            return "pending"
        return "paused" if self.paused else "open"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


@dataclass(frozen=True)
class Quote:
    """What a swap of `amount_in` burns (at most `amount_in`) and issues."""

    amount_in: int
    burned: int
    issued: int


@dataclass(frozen=True)
class Swap:
    """A mined swap, from its Swapped event."""

    exchange_id: int
    member: str
    burned: int
    issued: int
    receipt: Receipt

    def as_dict(self) -> dict[str, Any]:
        return {
            "exchange_id": self.exchange_id,
            "member": self.member,
            "burned": self.burned,
            "issued": self.issued,
            **self.receipt.as_dict(),
        }


@dataclass(frozen=True)
class Approval:
    """An approve: the brands whose points contract granted the exchange its role first."""

    receipt: Receipt
    granted: list[str] = field(default_factory=list)
    opened: bool = False


# --- handles and input ----------------------------------------------------------------------


def exchange_contract(w3: Web3, deployment: Deployment) -> Contract:
    """The network's CoalitionExchange; a LedgerError when the deployment has none."""
    if not deployment.exchange:
        raise LedgerError("this deployment has no coalition exchange; run `loyalty exchange open`")
    return contracts.at(w3, deployment.exchange, "CoalitionExchange")


def _id(exchange_id: int) -> int:
    if isinstance(exchange_id, bool) or not isinstance(exchange_id, int) or exchange_id < 0:
        raise InvalidInput(f"an exchange id is a whole number >= 0, not {exchange_id!r}")
    return exchange_id


def _read(call: ContractFunction) -> Any:
    """eth_call a view; a revert (ExchangeUnknown ...) raises its domain error."""
    with reverts_decoded(error_decoder()):
        return call.call()


def _points_of(w3: Web3, deployment: Deployment, brand: str) -> Contract:
    """A brand's points contract, from the registry (the deployment file may not list it)."""
    reg = contracts.registry(w3, deployment)
    points, _pass = _read(reg.functions.programOf(brand_id_bytes(brand)))
    return contracts.at(w3, points, "LoyaltyPoints")


def _term(value: int, what: str) -> int:
    positive_amount(value)
    if value > UINT128_MAX:
        raise InvalidInput(f"{what} {value} is too large (at most 2**128 - 1)")
    return value


# --- operator and brand admins --------------------------------------------------------------


def register_exchange(
    *,
    sender: Sender,
    deployment: Deployment,
    from_brand: str,
    to_brand: str,
    rate_from: int,
    rate_to: int,
    daily_cap: int,
    budget: int,
) -> tuple[int, Receipt]:
    """Register an exchange `from_brand` → `to_brand` (operator); returns its id. Closed until
    both brand admins approve. `daily_cap` is in from-brand points, `budget` in to-brand points.
    """
    for brand in (from_brand, to_brand):
        deployment.program(brand)  # UnknownProgram
    if from_brand == to_brand:
        raise InvalidInput(f"an exchange needs two different brands, not {from_brand!r} twice")
    terms = (
        _term(rate_from, "rate_from"),
        _term(rate_to, "rate_to"),
        _term(daily_cap, "daily cap"),
        _term(budget, "budget"),
    )
    ex = exchange_contract(sender.w3, deployment)
    call = ex.functions.registerExchange(
        brand_id_bytes(from_brand), brand_id_bytes(to_brand), *terms
    )
    receipt = sender.transact(call)
    event = ex.events.ExchangeRegistered().process_receipt(receipt.raw, errors=DISCARD)[0]
    return int(event["args"]["id"]), receipt


def approve_exchange(*, sender: Sender, deployment: Deployment, exchange_id: int) -> Approval:
    """Approve exchange `exchange_id` for the brand(s) `sender` administers.

    The approval is pre-flighted first (nothing is sent when it would fail); then each of those
    brands' points contracts grants the exchange EXCHANGE_ROLE if it lacks it.
    """
    ex = exchange_contract(sender.w3, deployment)
    call = ex.functions.approve(_id(exchange_id))
    sender.simulate(call)  # ExchangeUnknown / ExchangeNotAuthorized / ExchangeAlreadyApproved
    info = exchange_of(w3=sender.w3, deployment=deployment, exchange_id=exchange_id)
    granted: list[str] = []
    for brand in (info.from_brand, info.to_brand):
        token = _points_of(sender.w3, deployment, brand)
        if not token.functions.hasRole(contracts.role_id("admin"), sender.address).call():
            continue
        if not token.functions.hasRole(EXCHANGE_ROLE, ex.address).call():
            sender.transact(token.functions.grantRole(EXCHANGE_ROLE, ex.address))
            granted.append(brand)
    receipt = sender.transact(call)
    opened = bool(ex.events.ExchangeOpened().process_receipt(receipt.raw, errors=DISCARD))
    return Approval(receipt=receipt, granted=granted, opened=opened)


def approval_calls(
    *, sender: Sender, deployment: Deployment, exchange_id: int, brand: str
) -> list[ContractFunction]:
    """The transactions `sender` (the admin of `brand`) sends to approve exchange `exchange_id`
    for that brand, in order: the grant of EXCHANGE_ROLE on its points contract (when missing),
    then the approval. Pre-flighted: an unknown exchange, one that does not involve `brand`, a
    sender that is not its admin or a side approved already raises its error and sends nothing.
    """
    ex = exchange_contract(sender.w3, deployment)
    info = exchange_of(w3=sender.w3, deployment=deployment, exchange_id=exchange_id)
    if brand not in (info.from_brand, info.to_brand):
        raise InvalidInput(
            f"exchange {exchange_id} is between {info.from_brand} and {info.to_brand}"
        )
    approve = ex.functions.approve(_id(exchange_id))
    sender.simulate(approve)  # ExchangeNotAuthorized / ExchangeAlreadyApproved
    token = _points_of(sender.w3, deployment, brand)
    calls = []
    if not _read(token.functions.hasRole(EXCHANGE_ROLE, ex.address)):
        grant = token.functions.grantRole(EXCHANGE_ROLE, ex.address)
        sender.simulate(grant)  # not the points admin: raises, nothing queued
        calls.append(grant)
    return [*calls, approve]


def pause_call(
    *, sender: Sender, deployment: Deployment, exchange_id: int, paused: bool
) -> ContractFunction:
    """The pause (or unpause) of `sender`'s side of an exchange, pre-flighted."""
    ex = exchange_contract(sender.w3, deployment)
    fn = ex.functions.pause if paused else ex.functions.unpause
    call = fn(_id(exchange_id))
    sender.simulate(call)
    return call


def pause_exchange(*, sender: Sender, deployment: Deployment, exchange_id: int) -> Receipt:
    """Pause the exchange for `sender`'s side (a brand admin, or the operator)."""
    ex = exchange_contract(sender.w3, deployment)
    return sender.transact(ex.functions.pause(_id(exchange_id)))


def unpause_exchange(*, sender: Sender, deployment: Deployment, exchange_id: int) -> Receipt:
    """Lift `sender`'s own pause (another side's pause stays)."""
    ex = exchange_contract(sender.w3, deployment)
    return sender.transact(ex.functions.unpause(_id(exchange_id)))


# --- members --------------------------------------------------------------------------------


def swap_call(
    *, w3: Web3, deployment: Deployment, exchange_id: int, amount: int
) -> ContractFunction:
    """The member's swap of `amount` from-brand points, for direct sending or a gasless relay."""
    ex = exchange_contract(w3, deployment)
    return ex.functions.swap(_id(exchange_id), positive_amount(amount))


def swap_of(*, w3: Web3, deployment: Deployment, receipt: Receipt) -> Swap:
    """The swap a mined transaction made (direct or relayed), from its Swapped event."""
    if receipt.raw is None:
        raise LedgerError(f"receipt of {receipt.tx_hash} carries no logs")
    events = (
        exchange_contract(w3, deployment)
        .events.Swapped()
        .process_receipt(receipt.raw, errors=DISCARD)
    )
    if not events:
        raise LedgerError(f"transaction {receipt.tx_hash} made no swap")
    args = events[0]["args"]
    return Swap(
        exchange_id=int(args["id"]),
        member=str(args["member"]),
        burned=int(args["amountIn"]),
        issued=int(args["amountOut"]),
        receipt=receipt,
    )


def swap(*, sender: Sender, deployment: Deployment, exchange_id: int, amount: int) -> Swap:
    """The member (`sender`) swaps up to `amount` points; see `quote` for what is burned."""
    call = swap_call(w3=sender.w3, deployment=deployment, exchange_id=exchange_id, amount=amount)
    return swap_of(w3=sender.w3, deployment=deployment, receipt=sender.transact(call))


# --- views ----------------------------------------------------------------------------------


def _info(exchange_id: int, raw: Any) -> ExchangeInfo:
    fb, tb, rf, rt, cap, budget, issued, af, at, pf, pt, po = raw
    return ExchangeInfo(
        id=exchange_id,
        from_brand=decode_brand_id(fb),
        to_brand=decode_brand_id(tb),
        rate_from=int(rf),
        rate_to=int(rt),
        daily_cap=int(cap),
        budget=int(budget),
        issued=int(issued),
        approved_from=bool(af),
        approved_to=bool(at),
        paused_from=bool(pf),
        paused_to=bool(pt),
        paused_operator=bool(po),
    )


def exchange_of(*, w3: Web3, deployment: Deployment, exchange_id: int) -> ExchangeInfo:
    """Exchange `exchange_id`; UnknownExchange when there is none."""
    ex = exchange_contract(w3, deployment)
    call = ex.functions.exchangeOf(_id(exchange_id))
    return _info(exchange_id, _read(call))


def list_exchanges(*, w3: Web3, deployment: Deployment) -> list[ExchangeInfo]:
    """Every exchange of the network, by id."""
    ex = exchange_contract(w3, deployment)
    count = int(ex.functions.exchangeCount().call())
    return [exchange_of(w3=w3, deployment=deployment, exchange_id=i) for i in range(count)]


def quote(*, w3: Web3, deployment: Deployment, exchange_id: int, amount: int) -> Quote:
    """What swapping `amount` would burn and issue (rounding only; cap, budget and state are
    checked by the swap)."""
    ex = exchange_contract(w3, deployment)
    call = ex.functions.quote(_id(exchange_id), positive_amount(amount))
    burned, issued = _read(call)
    return Quote(amount_in=amount, burned=int(burned), issued=int(issued))


def remaining_today(*, w3: Web3, deployment: Deployment, exchange_id: int, member: str) -> int:
    """From-brand points `member` may still swap today on the exchange."""
    ex = exchange_contract(w3, deployment)
    call = ex.functions.remainingToday(_id(exchange_id), checksum_address(member))
    return int(_read(call))
