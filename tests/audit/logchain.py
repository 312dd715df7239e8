"""Hand-made logs with block times for the audit's pure tests: a network of two programs
(acme, bolt) and an exchange, and the event shapes of issues, redemptions, gifts, swaps."""

from __future__ import annotations

from typing import Any

from loyalty_ledger.audit.decode import ZERO_ADDRESS, Kind, Log, decode, encode
from loyalty_ledger.audit.invariants import check_invariants
from loyalty_ledger.audit.replay import Replayer
from loyalty_ledger.audit.replay_exchange import EXCHANGE_ROLE, ref_of

REG = "0x" + "aa" * 20
PTS = "0x" + "bb" * 20  # acme points
PAS = "0x" + "cc" * 20
PTS2 = "0x" + "b2" * 20  # bolt points
PAS2 = "0x" + "c2" * 20
EXC = "0x" + "ee" * 20
ADMIN, ALICE, BOB = ("0x" + c * 20 for c in ("0a", "01", "02"))
KINDS = {
    REG: Kind.REGISTRY,
    PTS: Kind.POINTS,
    PAS: Kind.PASS,
    PTS2: Kind.POINTS,
    PAS2: Kind.PASS,
    EXC: Kind.EXCHANGE,
}
ACME, BOLT = ("0x" + name.encode().hex().ljust(64, "0") for name in ("acme", "bolt"))
LEN = 100  # seconds per epoch; epoch zero at t = 0
DAY = 86_400
Z32 = "0x" + "00" * 32
Ev = tuple[str, str, dict[str, Any]]


def b32(text: str) -> str:
    return "0x" + text.encode().hex().ljust(64, "0")


class Chain:
    """One transaction per `tx(t, ...)`, one block per transaction, at time `t`."""

    def __init__(self) -> None:
        self.logs: list[Log] = []
        self.block = 0

    def tx(self, t: int, *events: Ev) -> None:
        self.block += 1
        txh, bh = "0x" + f"{self.block:064x}", "0x" + f"{self.block + 10**6:064x}"
        for i, (addr, name, args) in enumerate(events):
            topics, data = encode(KINDS[addr], name, args)
            self.logs.append(Log(self.block, bh, txh, 0, i, addr, topics, data, t))

    def replay(self, at: int):
        r = Replayer(REG)
        for log in self.logs:
            r.apply(decode(log, KINDS[log.address]))
        st = r.finish(self.block, at)
        st.findings.extend(check_invariants(st))
        return st


def issue(pts: str, to: str, n: int, reason: str = "purchase", ref: str = Z32) -> list[Ev]:
    return [
        (pts, "Transfer", {"from": ZERO_ADDRESS, "to": to, "value": n}),
        (pts, "PointsIssued", {"member": to, "amount": n, "reason": b32(reason), "ref": ref}),
    ]


def redeem(pts: str, who: str, n: int, by: str, ref: str = Z32) -> list[Ev]:
    return [
        (pts, "Transfer", {"from": who, "to": ZERO_ADDRESS, "value": n}),
        (pts, "PointsRedeemed", {"member": who, "amount": n, "ref": ref, "by": by}),
    ]


def gift(frm: str, to: str, n: int) -> list[Ev]:
    return [
        (PTS, "Transfer", {"from": frm, "to": to, "value": n}),
        (PTS, "PointsGifted", {"from": frm, "to": to, "amount": n, "memo": "hi"}),
    ]


def policy(pts: str, validity: int, epoch: int) -> Ev:
    args = {
        "validityEpochs": validity,
        "fromEpoch": epoch,
        "epochZero": 0,
        "epochLength": LEN,
        "by": ADMIN,
    }
    return (pts, "ExpiryPolicySet", args)


def network() -> Chain:
    c = Chain()
    for brand, pts, pas in ((ACME, PTS, PAS), (BOLT, PTS2, PAS2)):
        args = {"brandId": brand, "points": pts, "pass": pas, "admin": ADMIN, "name": "X"}
        c.tx(1, (REG, "ProgramRegistered", args))
    c.tx(
        2,
        (REG, "MemberRegistered", {"member": ALICE, "by": ADMIN}),
        (REG, "MemberRegistered", {"member": BOB, "by": ADMIN}),
    )
    return c


def with_lots() -> Chain:
    """Acme: 20 permanent points, then validity 2: 100 into lot 2, 50 into lot 3; alice gifts
    30 and redeems 20 (both from lot 2, the soonest)."""
    c = network()
    c.tx(10, *issue(PTS, ALICE, 20))
    c.tx(50, policy(PTS, 2, 0))
    c.tx(60, *issue(PTS, ALICE, 100))
    c.tx(150, *issue(PTS, ALICE, 50))
    c.tx(160, *gift(ALICE, BOB, 30))
    c.tx(170, *redeem(PTS, ALICE, 20, ALICE))
    return c


def errors(st: Any) -> list[str]:
    return [f.code for f in st.findings if f.severity == "error"]


def swap(member: str, amount_in: int, amount_out: int, side_in: int | None = None) -> list[Ev]:
    ref = ref_of(0)
    args = {
        "id": 0,
        "member": member,
        "fromBrand": ACME,
        "amountIn": amount_in,
        "toBrand": BOLT,
        "amountOut": amount_out,
        "rateFrom": 100,
        "rateTo": 80,
    }
    return [
        *redeem(PTS, member, amount_in, EXC, ref),
        *issue(PTS2, member, amount_out if side_in is None else side_in, "exchange", ref),
        (EXC, "Swapped", args),
    ]


def with_exchange() -> Chain:
    """Acme -> bolt at 100:80, cap 300 a day, budget 400. Acme points last 1000 epochs, bolt's
    1 epoch. Alice gets 400 acme, swaps 100 -> 80 (bolt lot 1, dead at t = 100) and, the next
    UTC day (the cap starts over), 250 -> 200 (bolt lot 865)."""
    c = network()
    grant = "RoleGranted"
    c.tx(
        3,
        (PTS, grant, {"role": EXCHANGE_ROLE, "account": EXC, "sender": ADMIN}),
        (PTS2, grant, {"role": EXCHANGE_ROLE, "account": EXC, "sender": ADMIN}),
    )
    terms = {"rateFrom": 100, "rateTo": 80, "dailyCap": 300, "budget": 400}
    c.tx(4, (EXC, "ExchangeRegistered", {"id": 0, "fromBrand": ACME, "toBrand": BOLT, **terms}))
    c.tx(
        5,
        (EXC, "ExchangeApproved", {"id": 0, "brandId": ACME, "by": ADMIN}),
        (EXC, "ExchangeApproved", {"id": 0, "brandId": BOLT, "by": ADMIN}),
        (EXC, "ExchangeOpened", {"id": 0}),
    )
    c.tx(10, policy(PTS, 1000, 0), policy(PTS2, 1, 0))
    c.tx(20, *issue(PTS, ALICE, 400))
    c.tx(30, *swap(ALICE, 100, 80))
    c.tx(DAY + 30, *swap(ALICE, 250, 200))
    return c
