"""Point expiry on a real chain: epoch boundaries to the second, soonest-first debits, gifts that
keep their expiry, policy changes, and a fuzzed run against the pure model `expiry.Book`."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Deployment, Program, add_brand
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import (
    InsufficientPoints,
    InvalidAmount,
    InvalidInput,
    LedgerError,
    NotAMember,
    PointsExpired,
    Unauthorized,
)
from loyalty_ledger.expiry import LOT_MAX, PERMANENT, Book, Clock, LotOverflow, NotEnoughPoints
from loyalty_ledger.ledger import lots
from loyalty_ledger.ledger.lots import Lot

from .conftest import ACME_ADMIN, ALICE, BOB, CAROL, MALLORY

pytestmark = pytest.mark.chain

EPOCH = 100  # seconds per epoch of the test program: expiry within minutes of chain time
MEMBERS = (ALICE.address, BOB.address, CAROL.address)


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    return w3.provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]


def latest(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def mine_at(w3: Web3, timestamp: int) -> None:
    """Mine an empty block at `timestamp`: views (and pre-flights) now see that time."""
    rpc(w3, "evm_mine", timestamp)


def next_at(w3: Web3, timestamp: int) -> None:
    """The next transaction's block gets `timestamp`."""
    rpc(w3, "evm_setNextBlockTimestamp", timestamp)


@dataclass
class Short:
    """A program with EPOCH-second epochs, administered by ACME_ADMIN; alice, bob and carol are
    members (the session's deployment object is left alone: this one is a copy)."""

    dep: Deployment
    program: Program
    clock: Clock

    def token(self, w3: Web3) -> Any:
        return contracts.points(w3, self.program)


@pytest.fixture
def short(w3: Web3, network: Deployment, operator: Sender) -> Short:
    dep = Deployment.from_json(network.to_json())
    program = add_brand(
        w3,
        operator,
        dep,
        brand_id="short",
        name="Short Points",
        symbol="SHRT",
        admin=ACME_ADMIN.address,
        tiers=["Basic"],
        epoch_length=EPOCH,
    )
    ledger.register_member(sender=operator, deployment=dep, member=CAROL.address)
    return Short(dep, program, lots.clock_of(w3=w3, program=program))


def fresh_epoch(w3: Web3, clock: Clock) -> int:
    """Mine a block at the first second of the next epoch; returns that epoch."""
    epoch = clock.epoch(latest(w3)) + 1
    mine_at(w3, clock.start(epoch))
    return epoch


def state(w3: Web3, short: Short) -> dict[str, Any]:
    """Every balance, lot and total of the short program, as of the latest block."""
    token = short.token(w3)
    out: dict[str, Any] = {
        "supply": token.functions.totalSupply().call(),
        "validity": token.functions.validityDuration().call(),
    }
    for m in (*MEMBERS, MALLORY.address):
        out[m] = (
            token.functions.balanceOf(m).call(),
            token.functions.lotsOf(m).call(),
            token.functions.permanentBalanceOf(m).call(),
        )
    return out


def bal(w3: Web3, short: Short, who: str) -> int:
    return ledger.balance_of(w3=w3, program=short.program, member=who)


def issue(admin: Sender, short: Short, who: str, amount: int) -> None:
    ledger.issue_points(sender=admin, program=short.program, member=who, amount=amount)


# --- boundaries and rules -------------------------------------------------------------------


def test_second_before_and_after_expiry(
    w3: Web3, short: Short, acme_admin: Sender, alice: Sender, bob: Sender, unchanged
) -> None:
    lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=2)
    issue(acme_admin, short, ALICE.address, 40)
    issue(acme_admin, short, BOB.address, 40)
    held = lots.lots_of(w3=w3, program=short.program, member=ALICE.address)
    (lot,) = held.lots
    assert held.permanent == 0 and lot.amount == 40
    assert lot.expiry_epoch == short.clock.epoch(latest(w3)) + 2
    end = lot.expires_at
    assert end == short.token(w3).functions.epochStart(lot.expiry_epoch).call()

    mine_at(w3, end - 2)
    next_at(w3, end - 1)  # the last second the lot is valid: the full amount moves
    ledger.transfer_points(sender=alice, program=short.program, to=CAROL.address, amount=40)
    assert latest(w3) == end - 1
    assert bal(w3, short, BOB.address) == 40 and bal(w3, short, CAROL.address) == 40
    assert not short.token(w3).functions.isEpochExpired(lot.expiry_epoch).call()

    mine_at(w3, end)  # the first second of the expiry epoch: gone, with no transaction
    assert bal(w3, short, BOB.address) == 0 and bal(w3, short, CAROL.address) == 0
    assert short.token(w3).functions.isEpochExpired(lot.expiry_epoch).call()
    assert short.token(w3).functions.balanceOfAtEpoch(lot.expiry_epoch, BOB.address).call() == 0
    assert lots.lots_of(w3=w3, program=short.program, member=BOB.address).lots == []
    assert ledger.total_supply(w3=w3, program=short.program) == 80  # expired stays in supply
    before = state(w3, short)
    with unchanged(), pytest.raises(InsufficientPoints) as info:
        ledger.transfer_points(sender=bob, program=short.program, to=ALICE.address, amount=40)
    assert (info.value.balance, info.value.needed) == (0, 40)
    with unchanged(), pytest.raises(PointsExpired):  # naming the expired lot says so
        bob.transact(short.token(w3).functions.transferAtEpoch(lot.expiry_epoch, ALICE.address, 1))
    assert state(w3, short) == before


def test_expiry_between_check_and_block_is_decoded(
    w3: Web3, short: Short, acme_admin: Sender, alice: Sender
) -> None:
    """A transfer sent in the lot's last second but mined in the first second of its expiry
    epoch fails on chain, and the error says why (the replay also runs on the block's state)."""
    lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=1)
    issue(acme_admin, short, ALICE.address, 25)
    (lot,) = lots.lots_of(w3=w3, program=short.program, member=ALICE.address).lots
    mine_at(w3, lot.expires_at - 1)
    next_at(w3, lot.expires_at)
    call = ledger.transfer_call(w3=w3, program=short.program, to=BOB.address, amount=25)
    with pytest.raises(InsufficientPoints):
        alice.transact(call, gas=200_000, simulate=False)
    assert latest(w3) == lot.expires_at
    assert bal(w3, short, ALICE.address) == 0 and bal(w3, short, BOB.address) == 0


def test_soonest_to_expire_first(w3: Web3, short: Short, acme_admin: Sender, bob: Sender) -> None:
    c = fresh_epoch(w3, short.clock)
    for validity, amount in ((3, 10), (1, 5), (0, 7)):
        lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=validity)
        issue(acme_admin, short, BOB.address, amount)
    held = lots.lots_of(w3=w3, program=short.program, member=BOB.address)
    assert [(lot.expiry_epoch, lot.amount) for lot in held.lots] == [(c + 1, 5), (c + 3, 10)]
    assert held.permanent == 7 and held.total == 22 == bal(w3, short, BOB.address)

    ledger.redeem_points(sender=bob, program=short.program, amount=8)  # 5 of c+1, 3 of c+3
    held = lots.lots_of(w3=w3, program=short.program, member=BOB.address)
    assert [(lot.expiry_epoch, lot.amount) for lot in held.lots] == [(c + 3, 7)]
    assert held.permanent == 7
    ledger.transfer_points(sender=bob, program=short.program, to=CAROL.address, amount=9)
    carol = lots.lots_of(w3=w3, program=short.program, member=CAROL.address)
    assert [(lot.expiry_epoch, lot.amount) for lot in carol.lots] == [(c + 3, 7)]
    assert carol.permanent == 2  # the expiring lot went first, then permanent points
    assert bal(w3, short, BOB.address) == 5


def test_gift_keeps_expiry(w3: Web3, short: Short, acme_admin: Sender, alice: Sender) -> None:
    lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=2)
    issue(acme_admin, short, ALICE.address, 30)
    (lot,) = lots.lots_of(w3=w3, program=short.program, member=ALICE.address).lots
    lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=50)
    mine_at(w3, lot.expires_at - 50)  # the recipient's clock is not restarted by a gift
    ledger.gift_points(sender=alice, program=short.program, to=BOB.address, amount=12, memo="hi")
    got = lots.lots_of(w3=w3, program=short.program, member=BOB.address)
    assert got.lots == [Lot(lot.expiry_epoch, lot.expires_at, 12)] and got.permanent == 0
    soon = lots.expiring_within(w3=w3, program=short.program, member=BOB.address, seconds=50)
    assert soon == got.lots
    assert lots.expiring_within(w3=w3, program=short.program, member=BOB.address, seconds=1) == []
    mine_at(w3, lot.expires_at)
    assert bal(w3, short, BOB.address) == 0 and bal(w3, short, ALICE.address) == 0


def test_policy_change_logged_and_not_retroactive(
    w3: Web3, short: Short, acme_admin: Sender, bob: Sender, unchanged
) -> None:
    assert lots.policy_of(w3=w3, program=short.program).validity_epochs == 0  # never, at first
    r = lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=5)
    ev = short.token(w3).events.ExpiryPolicySet().process_receipt(r.raw)[0]["args"]
    epoch = short.clock.epoch(w3.eth.get_block(r.block_number)["timestamp"])
    assert (ev["validityEpochs"], ev["fromEpoch"], ev["by"]) == (5, epoch, ACME_ADMIN.address)
    assert (ev["epochZero"], ev["epochLength"]) == (short.clock.zero, short.clock.length)
    issue(acme_admin, short, ALICE.address, 10)
    before = lots.lots_of(w3=w3, program=short.program, member=ALICE.address).lots
    lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=1)
    assert lots.lots_of(w3=w3, program=short.program, member=ALICE.address).lots == before
    issue(acme_admin, short, ALICE.address, 3)
    after = lots.lots_of(w3=w3, program=short.program, member=ALICE.address).lots
    assert [lt.amount for lt in after] == [3, 10] and after[1] == before[0]
    assert lots.policy_of(w3=w3, program=short.program).validity_epochs == 1

    snapshot = state(w3, short)
    with unchanged():
        with pytest.raises(InvalidInput):  # checked before sending
            lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=1001)
        with pytest.raises(InvalidInput, match="1001"):  # the contract's own refusal, decoded
            acme_admin.transact(short.token(w3).functions.setValidityDuration(1001))
        with pytest.raises(Unauthorized):
            lots.set_validity_duration(sender=bob, program=short.program, epochs=3)
    assert state(w3, short) == snapshot


def test_expiring_lot_holds_at_most_2_64_minus_1(
    w3: Web3, short: Short, acme_admin: Sender, unchanged
) -> None:
    lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=1)
    issue(acme_admin, short, ALICE.address, LOT_MAX)
    snapshot = state(w3, short)
    with unchanged(), pytest.raises(InvalidAmount):
        issue(acme_admin, short, ALICE.address, 1)
    assert state(w3, short) == snapshot
    lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=0)
    issue(acme_admin, short, ALICE.address, 1)  # permanent points have no such cap
    assert bal(w3, short, ALICE.address) == LOT_MAX + 1


# --- fuzz against the model -----------------------------------------------------------------


class Run:
    """One fuzzed run: the chain, the model, and the totals the invariant needs."""

    def __init__(self, w3: Web3, short: Short, admin: Sender, members: dict[str, Sender]) -> None:
        self.w3, self.short, self.admin, self.members = w3, short, admin, members
        self.book = Book(short.clock)
        self.issued = self.burned = self.refused = 0
        self.token = short.token(w3)

    def tick(self) -> int:
        """The next transaction's time: one second on, in the epoch the pre-flight sees (a
        pre-flight runs on the latest block, so it must not straddle an epoch start)."""
        now = latest(self.w3)
        t = now + 1
        if self.book.clock.epoch(t) != self.book.clock.epoch(now):
            mine_at(self.w3, t)
            t += 1
        next_at(self.w3, t)
        return t

    def attempt(
        self, model: Callable[[], Any], chain: Callable[[], Any], refused: type[LedgerError]
    ) -> bool:
        """Apply `model`; the chain must agree: do the same, or refuse and change nothing."""
        try:
            model()
        except (NotEnoughPoints, LotOverflow):
            before = state(self.w3, self.short)
            with pytest.raises(refused):
                chain()
            assert state(self.w3, self.short) == before
            self.refused += 1
            return False
        chain()
        return True

    def check(self) -> None:
        """Every member's balance and lots equal the model's; the books balance."""
        now = latest(self.w3)
        epoch = self.book.clock.epoch(now)
        total = 0
        for m in MEMBERS:
            chain = lots.lots_of(w3=self.w3, program=self.short.program, member=m)
            held = self.book.holding(m)
            want = [(x, a) for x, a in held.live_lots(epoch) if x != PERMANENT]
            assert [(lt.expiry_epoch, lt.amount) for lt in chain.lots] == want, (m, epoch)
            assert chain.permanent == held.lots.get(PERMANENT, 0)
            balance = bal(self.w3, self.short, m)
            assert balance == self.book.balance(m, now) == chain.total
            total += balance
        supply = ledger.total_supply(w3=self.w3, program=self.short.program)
        assert total <= supply == self.book.supply == self.issued - self.burned

    # --- the operations -------------------------------------------------------------------

    def op_issue(self, rng: random.Random) -> None:
        who, amount, t = rng.choice(MEMBERS), rng.randint(1, 60), self.tick()
        self.book.issue(who, amount, t)
        issue(self.admin, self.short, who, amount)
        self.issued += amount

    def _debit(self, rng: random.Random) -> tuple[str, str, int, int]:
        src, dst = rng.sample(MEMBERS, 2)
        t = self.tick()
        return src, dst, rng.randint(1, self.book.balance(src, t) + 10), t

    def op_transfer(self, rng: random.Random) -> None:
        src, dst, n, t = self._debit(rng)
        prog, sender = self.short.program, self.members[src]
        if rng.random() < 0.5:
            chain = lambda: ledger.transfer_points(sender=sender, program=prog, to=dst, amount=n)  # noqa: E731
        else:
            chain = lambda: ledger.gift_points(sender=sender, program=prog, to=dst, amount=n)  # noqa: E731
        self.attempt(lambda: self.book.move(src, dst, n, t), chain, InsufficientPoints)

    def op_burn(self, rng: random.Random) -> None:
        who, _, n, t = self._debit(rng)
        prog = self.short.program
        if rng.random() < 0.6:
            chain = lambda: ledger.redeem_points(sender=self.members[who], program=prog, amount=n)  # noqa: E731
        else:
            chain = lambda: ledger.forfeit_points(  # noqa: E731
                sender=self.admin, program=prog, member=who, amount=n, reason="fraud"
            )
        if self.attempt(lambda: self.book.burn(who, n, t), chain, InsufficientPoints):
            self.burned += n

    def op_at_epoch(self, rng: random.Random) -> None:
        """ERC-7818 transferAtEpoch of a lot the sender holds or held (perhaps expired)."""
        src, dst, _, t = self._debit(rng)
        held = self.book.holding(src).lots
        if not held:
            return
        x = rng.choice(sorted(held))
        n = rng.randint(1, held[x] + 3)
        expired = x <= self.book.clock.epoch(t)
        call = self.token.functions.transferAtEpoch(x, dst, n)
        self.attempt(
            lambda: self.book.move(src, dst, n, t, at_epoch=x),
            lambda: self.members[src].transact(call),
            PointsExpired if expired else InsufficientPoints,
        )

    def op_policy(self, rng: random.Random) -> None:
        v = rng.choice((0, 1, 1, 2, 3))
        self.tick()
        lots.set_validity_duration(sender=self.admin, program=self.short.program, epochs=v)
        self.book.validity = v

    def op_stranger(self, rng: random.Random) -> None:
        """A transfer to a non-member is refused whatever the amount."""
        src = rng.choice(MEMBERS)
        self.tick()
        before = state(self.w3, self.short)
        with pytest.raises(NotAMember):
            ledger.transfer_points(
                sender=self.members[src], program=self.short.program, to=MALLORY.address, amount=1
            )
        assert state(self.w3, self.short) == before

    def op_jump(self, rng: random.Random) -> None:
        """Move time: a little, to just around an epoch start, or several epochs on."""
        now, clock = latest(self.w3), self.book.clock
        start = clock.start(clock.epoch(now) + rng.randint(1, 3))
        mine_at(self.w3, rng.choice((now + rng.randint(1, EPOCH), start - 1, start, start + 1)))


OPS = (
    ["op_issue"] * 5
    + ["op_transfer"] * 4
    + ["op_burn"] * 3
    + ["op_at_epoch", "op_policy", "op_stranger"]
    + ["op_jump"] * 3
)


@pytest.mark.parametrize("seed", [11, 22, 33])
def test_fuzz_against_model(
    w3: Web3,
    short: Short,
    acme_admin: Sender,
    alice: Sender,
    bob: Sender,
    carol: Sender,
    seed: int,
) -> None:
    rng = random.Random(seed)
    members = {ALICE.address: alice, BOB.address: bob, CAROL.address: carol}
    run = Run(w3, short, acme_admin, members)
    lots.set_validity_duration(sender=acme_admin, program=short.program, epochs=2)
    run.book.validity = 2
    done: dict[str, int] = {}
    for _ in range(60):
        name = rng.choice(OPS)
        getattr(run, name)(rng)
        run.check()
        done[name] = done.get(name, 0) + 1
    assert run.book.expired_total(latest(w3)) > 0, "the run should see points expire"
    assert run.refused > 0 and len(done) >= 6, (run.refused, done)
