"""The coalition exchange on a real chain: lifecycle, swaps, rounding, caps and budget under
concurrency, pauses, refused members, gasless swaps and the to-brand's expiry policy."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import Web3
from web3.logs import DISCARD

from loyalty_ledger import ledger
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.artifacts import error_decoder, load_abi
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.demo.exchange import DEMO_VALIDITY_EPOCHS, seed_exchange
from loyalty_ledger.errors import (
    AccountFrozen,
    ContractRevert,
    ExchangeAlreadyApproved,
    ExchangeBudgetExceeded,
    ExchangeDailyCapExceeded,
    ExchangeNotApproved,
    ExchangeNotPausedBy,
    ExchangePaused,
    ExchangeTooSmall,
    InvalidInput,
    LedgerError,
    NotAMember,
    Paused,
    Unauthorized,
    UnknownExchange,
    UnknownProgram,
)
from loyalty_ledger.ledger import exchange, gasless, lots
from loyalty_ledger.validate import reason_bytes

from .conftest import ALICE, ALICE_START, BOB, CAROL, RELAYER

pytestmark = pytest.mark.chain

DAY = 86_400


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    return w3.provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]


def bal(w3: Web3, program: Program, who: str) -> int:
    return ledger.balance_of(w3=w3, program=program, member=who)


@pytest.fixture(autouse=True)
def _midday(w3: Web3) -> None:
    """Start every test at noon UTC of the next day: no daily cap resets mid-test."""
    now = int(w3.eth.get_block("latest")["timestamp"])
    rpc(w3, "evm_mine", now - now % DAY + DAY + DAY // 2)


def open_exchange(
    network: Deployment,
    operator: Sender,
    acme_admin: Sender,
    beta_admin: Sender,
    *,
    rate: tuple[int, int] = (100, 80),
    cap: int = 500,
    budget: int = 10_000,
) -> int:
    """Register acme → beta and have both brand admins approve it; returns the id."""
    ex_id, _ = exchange.register_exchange(
        sender=operator,
        deployment=network,
        from_brand="acme",
        to_brand="beta",
        rate_from=rate[0],
        rate_to=rate[1],
        daily_cap=cap,
        budget=budget,
    )
    for admin in (acme_admin, beta_admin):
        exchange.approve_exchange(sender=admin, deployment=network, exchange_id=ex_id)
    return ex_id


@pytest.fixture
def ex_id(network: Deployment, operator: Sender, acme_admin: Sender, beta_admin: Sender) -> int:
    return open_exchange(network, operator, acme_admin, beta_admin)


@pytest.fixture
def still(w3: Web3, network: Deployment, unchanged):  # type: ignore[no-untyped-def]
    """`with still(id): ...`: neither the chain (balances, nonces ...) nor the exchange changes."""

    def exchange_state(ex: int) -> Any:
        n = int(exchange.exchange_contract(w3, network).functions.exchangeCount().call())
        infos = [exchange.exchange_of(w3=w3, deployment=network, exchange_id=i) for i in range(n)]
        left = [
            exchange.remaining_today(w3=w3, deployment=network, exchange_id=ex, member=m)
            for m in (ALICE.address, BOB.address, CAROL.address)
        ]
        return infos, left

    @contextmanager
    def check(ex: int) -> Iterator[None]:
        before = exchange_state(ex)
        with unchanged():
            yield
        assert exchange_state(ex) == before

    return check


# --- lifecycle ------------------------------------------------------------------------------


def test_register_approve_open(
    w3: Web3,
    network: Deployment,
    operator: Sender,
    acme_admin: Sender,
    beta_admin: Sender,
    alice: Sender,
    bob: Sender,
    still,
) -> None:
    ex_id, _ = exchange.register_exchange(
        sender=operator,
        deployment=network,
        from_brand="acme",
        to_brand="beta",
        rate_from=100,
        rate_to=80,
        daily_cap=500,
        budget=1000,
    )
    info = exchange.exchange_of(w3=w3, deployment=network, exchange_id=ex_id)
    assert (info.from_brand, info.to_brand, info.rate_from, info.rate_to) == (
        "acme",
        "beta",
        100,
        80,
    )
    assert (info.daily_cap, info.budget, info.issued, info.status) == (500, 1000, 0, "pending")
    with still(ex_id), pytest.raises(ExchangeNotApproved):
        exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=10)

    ex = exchange.exchange_contract(w3, network)
    acme_points = contracts.points(w3, network.program("acme"))
    assert not acme_points.functions.hasRole(exchange.EXCHANGE_ROLE, ex.address).call()
    a = exchange.approve_exchange(sender=acme_admin, deployment=network, exchange_id=ex_id)
    assert a.granted == ["acme"] and not a.opened
    assert acme_points.functions.hasRole(exchange.EXCHANGE_ROLE, ex.address).call()
    with still(ex_id):
        with pytest.raises(ExchangeAlreadyApproved):
            exchange.approve_exchange(sender=acme_admin, deployment=network, exchange_id=ex_id)
        with pytest.raises(Unauthorized):  # bob administers neither brand: no role granted
            exchange.approve_exchange(sender=bob, deployment=network, exchange_id=ex_id)
        with pytest.raises(ExchangeNotApproved):
            exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=10)
    b = exchange.approve_exchange(sender=beta_admin, deployment=network, exchange_id=ex_id)
    assert b.granted == ["beta"] and b.opened
    (listed,) = [e for e in exchange.list_exchanges(w3=w3, deployment=network) if e.id == ex_id]
    assert listed.status == "open" and listed.approved and ex.functions.isOpen(ex_id).call()


def test_bad_registrations_change_nothing(
    network: Deployment, operator: Sender, acme_admin: Sender, alice: Sender, still, ex_id: int
) -> None:
    terms = {"rate_from": 1, "rate_to": 1, "daily_cap": 10, "budget": 10}
    ex = exchange.exchange_contract(operator.w3, network)
    with still(ex_id):
        with pytest.raises(InvalidInput):
            exchange.register_exchange(
                sender=operator, deployment=network, from_brand="acme", to_brand="acme", **terms
            )
        acme = b"acme".ljust(32, b"\0")
        with pytest.raises(InvalidInput, match="twice"):  # the contract agrees, decoded
            operator.transact(ex.functions.registerExchange(acme, acme, 1, 1, 10, 10))
        with pytest.raises(UnknownProgram):
            exchange.register_exchange(
                sender=operator, deployment=network, from_brand="acme", to_brand="nope", **terms
            )
        with pytest.raises(InvalidInput):
            exchange.register_exchange(
                sender=operator,
                deployment=network,
                from_brand="acme",
                to_brand="beta",
                **{**terms, "budget": 2**128},
            )
        with pytest.raises(Unauthorized):  # only the operator registers
            exchange.register_exchange(
                sender=acme_admin, deployment=network, from_brand="acme", to_brand="beta", **terms
            )
        for bad in (ex_id + 1, 10**9):
            with pytest.raises(UnknownExchange):
                exchange.exchange_of(w3=operator.w3, deployment=network, exchange_id=bad)
            with pytest.raises(UnknownExchange):
                exchange.swap(sender=alice, deployment=network, exchange_id=bad, amount=10)
        with pytest.raises(InvalidInput):
            exchange.quote(w3=operator.w3, deployment=network, exchange_id=-1, amount=10)


# --- swaps ----------------------------------------------------------------------------------


def test_swap_burns_from_and_issues_to(
    w3: Web3, network: Deployment, acme: Program, beta: Program, alice: Sender, ex_id: int
) -> None:
    q = exchange.quote(w3=w3, deployment=network, exchange_id=ex_id, amount=55)
    assert (q.burned, q.issued) == (55, 44)
    s = exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=55)
    assert (s.member, s.burned, s.issued) == (ALICE.address, 55, 44)
    assert bal(w3, acme, ALICE.address) == ALICE_START - 55
    assert bal(w3, beta, ALICE.address) == 44
    assert ledger.total_supply(w3=w3, program=acme) == ALICE_START - 55
    assert ledger.total_supply(w3=w3, program=beta) == 44
    ex = exchange.exchange_contract(w3, network)
    ev = ex.events.Swapped().process_receipt(s.receipt.raw, errors=DISCARD)[0]["args"]
    assert (ev["fromBrand"], ev["toBrand"]) == (b"acme".ljust(32, b"\0"), b"beta".ljust(32, b"\0"))
    assert (ev["rateFrom"], ev["rateTo"]) == (100, 80)
    out = (
        contracts.points(w3, acme)
        .events.PointsRedeemed()
        .process_receipt(s.receipt.raw, errors=DISCARD)
    )
    assert out[0]["args"]["by"] == ex.address and out[0]["args"]["amount"] == 55
    into = (
        contracts.points(w3, beta)
        .events.PointsIssued()
        .process_receipt(s.receipt.raw, errors=DISCARD)
    )
    assert into[0]["args"]["reason"] == reason_bytes("exchange")
    assert into[0]["args"]["ref"] == ex_id.to_bytes(32, "big")
    info = exchange.exchange_of(w3=w3, deployment=network, exchange_id=ex_id)
    assert info.issued == 44
    assert exchange.remaining_today(
        w3=w3, deployment=network, exchange_id=ex_id, member=ALICE.address
    ) == (500 - 55)


@pytest.mark.parametrize(
    "rate", [(3, 7), (100, 80), (7, 3), (1000, 1), (13, 11)], ids=lambda r: f"{r[0]}to{r[1]}"
)
def test_rounding_never_creates_points(
    w3: Web3,
    network: Deployment,
    operator: Sender,
    acme_admin: Sender,
    beta_admin: Sender,
    alice: Sender,
    acme: Program,
    beta: Program,
    still,
    rate: tuple[int, int],
) -> None:
    rf, rt = rate
    ledger.issue_points(sender=acme_admin, program=acme, member=ALICE.address, amount=100_000)
    ex_id = open_exchange(
        network, operator, acme_admin, beta_admin, rate=rate, cap=10**9, budget=10**9
    )
    rng = random.Random(rf * 1000 + rt)
    burned = issued = 0
    for amount in [rf, rf + 1, 2 * rf - 1, *(rng.randint(1, 5000) for _ in range(6))]:
        q = exchange.quote(w3=w3, deployment=network, exchange_id=ex_id, amount=amount)
        assert q.issued == amount * rt // rf and q.burned <= amount
        assert q.issued * rf <= q.burned * rt  # what is issued is worth at most what is burned
        assert (q.issued + 1) * rf > amount * rt  # and no more could have been bought
        if q.issued == 0:
            continue
        s = exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=amount)
        assert (s.burned, s.issued) == (q.burned, q.issued)
        burned, issued = burned + s.burned, issued + s.issued
    assert bal(w3, acme, ALICE.address) == ALICE_START + 100_000 - burned
    assert bal(w3, beta, ALICE.address) == issued == ledger.total_supply(w3=w3, program=beta)
    assert issued * rf <= burned * rt
    minimum = -(-rf // rt)  # ceil(rf / rt): the least that buys one point
    if minimum > 1:
        with still(ex_id), pytest.raises(ExchangeTooSmall) as info:
            exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=minimum - 1)
        assert info.value.minimum == minimum


# --- caps and budget, one block at a time ---------------------------------------------------


@contextmanager
def one_block(w3: Web3) -> Iterator[None]:
    """Transactions sent inside wait in the pool; leaving mines them all in one block."""
    rpc(w3, "evm_setAutomine", False)
    try:
        yield
        rpc(w3, "evm_mine")
    finally:
        rpc(w3, "evm_setAutomine", True)


def burst(w3: Web3, call: Any, senders: list[Sender], rounds: int) -> list[tuple[str, bool]]:
    """Every sender sends `call` `rounds` times, all mined in one block (no pre-flight, so
    every one is sent); returns (sender, succeeded) in block order."""
    head = w3.eth.block_number
    with one_block(w3):
        hashes = [s.send(call, gas=400_000, simulate=False) for _ in range(rounds) for s in senders]
        assert w3.eth.block_number == head  # nothing mined yet
    block = w3.eth.get_block("latest", full_transactions=True)
    assert block["number"] == head + 1
    txs = block["transactions"]
    assert {bytes(tx["hash"]) for tx in txs} == {bytes(h) for h in hashes}
    return [(tx["from"], w3.eth.get_transaction_receipt(tx["hash"])["status"] == 1) for tx in txs]


def replay(members: list[str], amount: int, cap: int, budget: int) -> tuple[list[bool], int]:
    """Which swaps of `amount` (rate 1:1), one by one in block order, the cap and the budget
    allow within one day; and the budget left."""
    spent: dict[str, int] = {}
    ok = []
    for m in members:
        allowed = spent.get(m, 0) + amount <= cap and amount <= budget
        if allowed:
            spent[m] = spent.get(m, 0) + amount
            budget -= amount
        ok.append(allowed)
    return ok, budget


def test_daily_cap_and_budget_under_concurrency(
    w3: Web3,
    network: Deployment,
    operator: Sender,
    acme_admin: Sender,
    beta_admin: Sender,
    alice: Sender,
    bob: Sender,
    carol: Sender,
    acme: Program,
    beta: Program,
) -> None:
    """Three members send 5 swaps of 10 each into one block, on two days. Cap 30 a day,
    budget 130: on day 1 only the cap binds (9 land), on day 2 the budget (4 land). Exactly
    the swaps a one-by-one replay in block order allows succeed; nothing is ever exceeded."""
    ledger.register_member(sender=operator, deployment=network, member=CAROL.address)
    for m in (BOB, CAROL):
        ledger.issue_points(sender=acme_admin, program=acme, member=m.address, amount=100)
    ex_id = open_exchange(
        network, operator, acme_admin, beta_admin, rate=(1, 1), cap=30, budget=130
    )
    call = exchange.swap_call(w3=w3, deployment=network, exchange_id=ex_id, amount=10)
    senders = [alice, bob, carol]
    budget, landed = 130, dict.fromkeys((ALICE.address, BOB.address, CAROL.address), 0)
    for day, expect in ((1, 9), (2, 4)):
        if day == 2:
            now = int(w3.eth.get_block("latest")["timestamp"])
            rpc(w3, "evm_mine", now + DAY)
        outcome = burst(w3, call, senders, rounds=5)
        want, budget = replay([m for m, _ in outcome], 10, cap=30, budget=budget)
        assert [ok for _, ok in outcome] == want and sum(want) == expect, (day, outcome)
        for m in landed:
            today = sum(ok for who, ok in outcome if who == m)
            assert today <= 3
            left = exchange.remaining_today(w3=w3, deployment=network, exchange_id=ex_id, member=m)
            assert left == 30 - 10 * today
            landed[m] += today
    info = exchange.exchange_of(w3=w3, deployment=network, exchange_id=ex_id)
    assert budget == 0 and info.issued == 130 == ledger.total_supply(w3=w3, program=beta)
    for m, start in ((ALICE, ALICE_START), (BOB, 100), (CAROL, 100)):
        assert bal(w3, acme, m.address) == start - 10 * landed[m.address]
        assert bal(w3, beta, m.address) == 10 * landed[m.address]
    cap_left = [
        s
        for s in senders
        if exchange.remaining_today(w3=w3, deployment=network, exchange_id=ex_id, member=s.address)
    ]
    with pytest.raises(ExchangeBudgetExceeded) as err:  # 4 landed of 9 the cap allows today
        exchange.swap(sender=cap_left[0], deployment=network, exchange_id=ex_id, amount=1)
    assert err.value.remaining == 0


def test_daily_cap_resets_next_utc_day(
    w3: Web3, network: Deployment, alice: Sender, ex_id: int, still
) -> None:
    exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=60)
    with still(ex_id), pytest.raises(ExchangeDailyCapExceeded) as info:
        # 445 buys 356 points, which cost 445: over the 440 left (441 would burn only 440)
        exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=445)
    assert (info.value.requested, info.value.remaining) == (445, 440)
    now = int(w3.eth.get_block("latest")["timestamp"])
    rpc(w3, "evm_mine", now - now % DAY + DAY)  # midnight UTC
    assert (
        exchange.remaining_today(w3=w3, deployment=network, exchange_id=ex_id, member=ALICE.address)
        == 500
    )


# --- refusals -------------------------------------------------------------------------------


def test_pause_by_either_side(
    w3: Web3,
    network: Deployment,
    operator: Sender,
    acme_admin: Sender,
    beta_admin: Sender,
    alice: Sender,
    bob: Sender,
    ex_id: int,
    still,
) -> None:
    def swap() -> exchange.Swap:
        return exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=10)

    exchange.pause_exchange(sender=beta_admin, deployment=network, exchange_id=ex_id)
    assert exchange.exchange_of(w3=w3, deployment=network, exchange_id=ex_id).status == "paused"
    with still(ex_id):
        with pytest.raises(ExchangePaused):
            swap()
        with pytest.raises(ExchangeNotPausedBy):  # acme cannot lift beta's pause
            exchange.unpause_exchange(sender=acme_admin, deployment=network, exchange_id=ex_id)
        with pytest.raises(Unauthorized):
            exchange.pause_exchange(sender=bob, deployment=network, exchange_id=ex_id)
    exchange.unpause_exchange(sender=beta_admin, deployment=network, exchange_id=ex_id)
    swap()
    exchange.pause_exchange(sender=operator, deployment=network, exchange_id=ex_id)
    with still(ex_id), pytest.raises(Paused):  # ExchangePaused is a Paused
        swap()
    exchange.unpause_exchange(sender=operator, deployment=network, exchange_id=ex_id)
    assert swap().issued == 8


def test_unregistered_and_frozen_members_refused(
    w3: Web3,
    network: Deployment,
    operator: Sender,
    alice: Sender,
    carol: Sender,
    ex_id: int,
    still,
) -> None:
    with still(ex_id), pytest.raises(NotAMember):
        exchange.swap(sender=carol, deployment=network, exchange_id=ex_id, amount=10)
    ledger.freeze_member(sender=operator, deployment=network, member=ALICE.address)
    with still(ex_id), pytest.raises(AccountFrozen):
        exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=10)


@pytest.mark.parametrize("paused_brand", ["acme", "beta"])
def test_paused_program_refuses_swaps(
    network: Deployment,
    acme_admin: Sender,
    beta_admin: Sender,
    alice: Sender,
    ex_id: int,
    still,
    paused_brand: str,
) -> None:
    admin = acme_admin if paused_brand == "acme" else beta_admin
    ledger.pause(sender=admin, program=network.program(paused_brand))
    with still(ex_id), pytest.raises(Paused):
        exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=10)


# --- gasless and expiry ---------------------------------------------------------------------


def test_gasless_swap_debits_the_member(
    w3: Web3,
    network: Deployment,
    acme: Program,
    beta: Program,
    relayer: Sender,
    ex_id: int,
    still,
) -> None:
    eth = w3.eth.get_balance(ALICE.address)
    s = gasless.relay_swap(
        relayer=relayer, deployment=network, signer=ALICE, exchange_id=ex_id, amount=50
    )
    assert s.member == ALICE.address and (s.burned, s.issued) == (50, 40)
    assert bal(w3, acme, ALICE.address) == ALICE_START - 50 and bal(w3, beta, ALICE.address) == 40
    assert bal(w3, acme, RELAYER.address) == 0 and bal(w3, beta, RELAYER.address) == 0
    assert w3.eth.get_balance(ALICE.address) == eth
    assert w3.eth.get_transaction(s.receipt.tx_hash)["from"] == RELAYER.address
    with still(ex_id), pytest.raises(ExchangeDailyCapExceeded):  # decoded before relaying
        gasless.relay_swap(
            relayer=relayer, deployment=network, signer=ALICE, exchange_id=ex_id, amount=460
        )


def test_swapped_points_follow_to_brands_expiry(
    w3: Web3, network: Deployment, beta: Program, beta_admin: Sender, alice: Sender, ex_id: int
) -> None:
    lots.set_validity_duration(sender=beta_admin, program=beta, epochs=2)
    s = exchange.swap(sender=alice, deployment=network, exchange_id=ex_id, amount=25)
    held = lots.lots_of(w3=w3, program=beta, member=ALICE.address)
    assert held.permanent == 0 and [(lot.expiry_epoch, lot.amount) for lot in held.lots] == [
        (held.epoch + 2, s.issued)
    ]
    rpc(w3, "evm_mine", held.lots[0].expires_at)
    assert bal(w3, beta, ALICE.address) == 0


def test_deployment_file_keeps_the_exchange(w3: Web3, network: Deployment, tmp_path: Any) -> None:
    assert network.exchange and w3.eth.get_code(network.exchange)
    path = tmp_path / "d.json"
    network.save(path)
    assert Deployment.load(path) == network
    old = network.to_json()
    del old["exchange"]  # a deployment file from before the exchange still loads
    legacy = Deployment.from_json(old)
    assert legacy.exchange is None and legacy.programs == network.programs
    with pytest.raises(LedgerError, match="no coalition exchange"):
        exchange.list_exchanges(w3=w3, deployment=legacy)


def test_exchange_and_expiry_errors_decode() -> None:
    """Every custom error of the exchange and the expiry errors decodes to its name: a relayed
    swap's revert comes back through the forwarder, so the decoder must know the exchange."""
    abi = load_abi("CoalitionExchange") + load_abi("LoyaltyPoints")
    expiry = {"PointsBadEpochLength", "PointsValidityTooLong", "PointsAmountTooLarge"}
    expiry.add("ERC7818TransferredExpiredToken")
    errors = [e for e in abi if e["type"] == "error"]
    wanted = [e for e in errors if e["name"].startswith("Exchange") or e["name"] in expiry]
    assert len({e["name"] for e in wanted}) == 12 + 4
    decoder = error_decoder()
    for err in wanted:
        types = [i["type"] for i in err["inputs"]]
        selector = keccak(text=f"{err['name']}({','.join(types)})")[:4]
        args = [
            ALICE.address if t == "address" else b"x" * 32 if t == "bytes32" else 7 for t in types
        ]
        decoded = decoder.decode(selector + abi_encode(types, args))
        assert not isinstance(decoded, ContractRevert), err["name"]
        assert decoded.contract_error == err["name"]  # type: ignore[attr-defined]


def test_demo_exchange_helper(
    w3: Web3,
    network: Deployment,
    operator: Sender,
    acme_admin: Sender,
    beta_admin: Sender,
    relayer: Sender,
    beta: Program,
) -> None:
    figures = seed_exchange(
        w3=w3,
        deployment=network,
        operator=operator,
        admins=[acme_admin, beta_admin],
        relayer=relayer,
        members=[ALICE, BOB],  # bob holds no acme points: skipped
        from_brand="acme",
        to_brand="beta",
        say=lambda _line: None,
    )
    assert figures == {"exchange_id": 0, "swaps": 1, "swapped_in": 10}  # 50 acme at 5:1
    assert lots.policy_of(w3=w3, program=beta).validity_epochs == DEMO_VALIDITY_EPOCHS
    held = lots.lots_of(w3=w3, program=beta, member=ALICE.address)
    assert [(lot.expiry_epoch, lot.amount) for lot in held.lots] == [
        (held.epoch + DEMO_VALIDITY_EPOCHS, 10)
    ]
