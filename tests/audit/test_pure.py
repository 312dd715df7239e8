"""The pure core on hand-made logs: decoding, replay rules, invariants, digest, code masking."""

from __future__ import annotations

import dataclasses

import pytest

from loyalty_ledger.audit.decode import TOPICS, ZERO_ADDRESS, Kind, Log, decode, encode
from loyalty_ledger.audit.digest import BlockDigest, digest_logs, first_difference
from loyalty_ledger.audit.invariants import check_invariants
from loyalty_ledger.audit.replay import Replayer
from loyalty_ledger.audit.verify_code import Compiled, compare_code, strip_cbor

REG = "0x" + "aa" * 20
PTS = "0x" + "bb" * 20
PAS = "0x" + "cc" * 20
ALICE, BOB, EVE, NEW = ("0x" + c * 20 for c in ("01", "02", "0e", "03"))
KINDS = {REG: Kind.REGISTRY, PTS: Kind.POINTS, PAS: Kind.PASS}


class Chain:
    """Builds logs: one transaction per `tx()` call, one block per transaction."""

    def __init__(self) -> None:
        self.logs: list[Log] = []
        self.block = 0

    def tx(self, *events: tuple[str, str, dict]) -> None:
        self.block += 1
        txh = "0x" + f"{self.block:064x}"
        bh = "0x" + f"{self.block + 10**6:064x}"
        for i, (addr, name, args) in enumerate(events):
            topics, data = encode(KINDS[addr], name, args)
            self.logs.append(Log(self.block, bh, txh, 0, i, addr, topics, data))

    def replay(self, logs: list[Log] | None = None):
        r = Replayer(REG)
        for log in logs or self.logs:
            r.apply(decode(log, KINDS[log.address]))
        st = r.finish()
        st.findings.extend(check_invariants(st))
        return st


def _base() -> Chain:
    c = Chain()
    c.tx(
        (
            REG,
            "ProgramRegistered",
            {
                "brandId": "0x" + "61" * 4 + "00" * 28,
                "points": PTS,
                "pass": PAS,
                "admin": ALICE,
                "name": "Acme",
            },
        )
    )
    c.tx(
        (REG, "MemberRegistered", {"member": ALICE, "by": REG}),
        (REG, "MemberRegistered", {"member": BOB, "by": REG}),
    )
    c.tx(
        (PTS, "Transfer", {"from": ZERO_ADDRESS, "to": ALICE, "value": 100}),
        (
            PTS,
            "PointsIssued",
            {
                "member": ALICE,
                "amount": 100,
                "reason": "0x" + b"purchase".hex().ljust(64, "0"),
                "ref": "0x" + "00" * 32,
            },
        ),
    )
    return c


def test_decode_encode_round_trip_for_every_shape() -> None:
    c = _base()
    for log in c.logs:
        ev = decode(log, KINDS[log.address])
        assert ev.name != "Unknown"
        assert encode(ev.kind, ev.name, ev.args) == (log.topics, log.data)
    # ERC-20 and ERC-721 Transfer share topic0 and decode by the emitter's kind.
    t, d = encode(Kind.PASS, "Transfer", {"from": ZERO_ADDRESS, "to": BOB, "tokenId": 9})
    assert t[0] == TOPICS["Transfer"] and len(t) == 4 and d == "0x"
    assert decode(Log(1, "0x", "0x", 0, 0, PAS, t, d), Kind.PASS).args["tokenId"] == 9


def test_clean_replay_balances_and_liability() -> None:
    c = _base()
    c.tx(
        (PTS, "Transfer", {"from": ALICE, "to": ZERO_ADDRESS, "value": 30}),
        (
            PTS,
            "PointsRedeemed",
            {"member": ALICE, "amount": 30, "ref": "0x" + "00" * 32, "by": ALICE},
        ),
    )
    c.tx(
        (PTS, "Transfer", {"from": ALICE, "to": BOB, "value": 20}),
        (PTS, "PointsGifted", {"from": ALICE, "to": BOB, "amount": 20, "memo": "hi"}),
    )
    st = c.replay()
    book = st.points[PTS]
    assert book.balances == {ALICE: 50, BOB: 20}
    assert (book.issued, book.redeemed, book.outstanding, book.total_supply) == (100, 30, 70, 70)
    assert book.issued_by_reason == {"purchase": 100}
    assert [f for f in st.findings if f.severity == "error"] == []


def test_credit_to_unregistered_is_a_breach_unless_recovery() -> None:
    c = _base()
    c.tx((PTS, "Transfer", {"from": ALICE, "to": EVE, "value": 5}))
    assert [f.code for f in c.replay().findings] == [
        "credit-to-non-member",
        "balance-at-unregistered",
    ]
    c = _base()  # the same credit inside a recorded recovery is fine
    c.tx((REG, "MemberRegistered", {"member": NEW, "by": REG}))
    c.tx(
        (PTS, "Transfer", {"from": ALICE, "to": NEW, "value": 100}),
        (PTS, "PointsRecovered", {"lostWallet": ALICE, "newWallet": NEW, "amount": 100}),
        (REG, "MemberRecovered", {"lostWallet": ALICE, "newWallet": NEW, "by": REG}),
    )
    st = c.replay()
    assert st.findings == []
    assert st.members.recovered_to == {ALICE: NEW} and ALICE not in st.members.members


def test_frozen_debit_needs_forfeit() -> None:
    c = _base()
    c.tx((REG, "MemberFrozen", {"member": ALICE, "by": REG}))
    c.tx((PTS, "Transfer", {"from": ALICE, "to": BOB, "value": 1}))
    assert "debit-of-frozen" in [f.code for f in c.replay().findings]
    c = _base()
    c.tx((REG, "MemberFrozen", {"member": ALICE, "by": REG}))
    c.tx(
        (PTS, "Transfer", {"from": ALICE, "to": ZERO_ADDRESS, "value": 1}),
        (
            PTS,
            "PointsForfeited",
            {"member": ALICE, "amount": 1, "reason": "0x" + "00" * 32, "by": REG},
        ),
    )
    assert c.replay().findings == []


def test_soulbound_pass_moved_is_caught() -> None:
    c = _base()
    c.tx(
        (PAS, "Transfer", {"from": ZERO_ADDRESS, "to": ALICE, "tokenId": 1}),
        (PAS, "Locked", {"tokenId": 1}),
        (PAS, "PassIssued", {"member": ALICE, "tokenId": 1, "tier": 0, "expiresAt": 0}),
    )
    c.tx((PAS, "Transfer", {"from": ALICE, "to": BOB, "tokenId": 1}))
    st = c.replay()
    assert [f.code for f in st.findings] == ["soulbound-moved"]
    assert st.passes[PAS].holder == {BOB: 1}


def test_invariant_catches_mint_without_issue_and_negative_balance() -> None:
    c = _base()
    c.tx((PTS, "Transfer", {"from": ZERO_ADDRESS, "to": BOB, "value": 7}))  # no PointsIssued
    c.tx((PTS, "Transfer", {"from": BOB, "to": ALICE, "value": 9}))  # more than held
    codes = {f.code for f in c.replay().findings}
    assert {"mint-without-issue", "liability-mismatch", "negative-balance"} <= codes


def test_digest_stable_and_sensitive_to_every_event() -> None:
    c = _base()
    d1 = digest_logs(31337, REG, c.logs)
    assert d1 == digest_logs(31337, REG, list(c.logs))
    assert len(d1) == 3 and all(d.digest.startswith("0x") for d in d1)
    for i, log in enumerate(c.logs):
        changed = list(c.logs)
        changed[i] = dataclasses.replace(log, data=log.data + "00")
        d2 = digest_logs(31337, REG, changed)
        assert d2[-1].digest != d1[-1].digest
        assert first_difference(d1, d2) == log.block_number
    assert digest_logs(1, REG, c.logs)[-1].digest != d1[-1].digest  # another chain


def test_first_difference_by_bisection() -> None:
    a = [BlockDigest(b, "0x", f"0x{b:02x}") for b in range(1, 50)]
    assert first_difference(a, a) is None
    b = a[:20] + [BlockDigest(x.block, "0x", "0xff" + x.digest) for x in a[20:]]
    assert first_difference(a, b) == 21
    assert first_difference(a, a[:30]) == 31  # a strict prefix differs at the next block
    assert first_difference(a, a[:5] + a[6:]) == 6  # a block missing


def test_code_compare_masks_immutables_and_strips_cbor() -> None:
    compiled = Compiled("X", bytes.fromhex("6001" + "00" * 32 + "6002"), {"7": [(2, 32)]})
    onchain = bytes.fromhex("6001" + "ab" * 32 + "6002")
    assert compare_code("0x1", compiled, onchain).ok
    assert compare_code("0x1", compiled, onchain + bytes.fromhex("a16474657374") + b"\x00\x06").ok
    assert strip_cbor(b"\x60\x01" + bytes.fromhex("a100") + b"\x00\x02")[1]
    bad = bytes.fromhex("6001" + "ab" * 32 + "6003")
    chk = compare_code("0x1", compiled, bad)
    assert not chk.ok and "byte 35" in chk.detail
    assert not compare_code("0x1", compiled, b"").ok


@pytest.mark.parametrize("name", ["ProgramRegistered", "PointsGifted", "TierAdded"])
def test_encode_strings(name: str) -> None:
    kind = {
        "ProgramRegistered": Kind.REGISTRY,
        "PointsGifted": Kind.POINTS,
        "TierAdded": Kind.PASS,
    }[name]
    args = {
        "ProgramRegistered": {
            "brandId": "0x" + "11" * 32,
            "points": PTS,
            "pass": PAS,
            "admin": ALICE,
            "name": "é" * 40,
        },
        "PointsGifted": {"from": ALICE, "to": BOB, "amount": 3, "memo": ""},
        "TierAdded": {"tier": 4, "name": "Gold"},
    }[name]
    t, d = encode(kind, name, args)
    assert decode(Log(1, "0x", "0x", 0, 0, REG, t, d), kind).args == args
