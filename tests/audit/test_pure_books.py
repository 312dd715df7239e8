"""The pure core on hand-made logs with block times: expiry lots, books and breakage."""

from __future__ import annotations

from loyalty_ledger.audit.summary import member_lots, summarise_state
from loyalty_ledger.expiry import PERMANENT

from .logchain import ALICE, BOB, PTS, errors, gift, network, policy, with_lots


def test_lots_books_and_breakage_after_expiry() -> None:
    st = with_lots().replay(at=199)  # epoch 1: nothing expired yet
    book = st.points[PTS]
    assert errors(st) == []
    assert book.lots.holdings[ALICE].lots == {2: 50, 3: 50, PERMANENT: 20}
    assert book.lots.holdings[BOB].lots == {2: 30}
    assert book.balances == {ALICE: 120, BOB: 30} and book.expired == 0
    st = with_lots().replay(at=200)  # epoch 2 starts: lot 2 is dead
    book = st.points[PTS]
    assert errors(st) == []
    assert book.balances == {ALICE: 70, BOB: 0}
    assert (book.issued, book.redeemed, book.expired, book.outstanding) == (170, 20, 80, 70)
    assert book.total_supply == 150  # expired points stay in totalSupply
    assert book.expired_by_epoch == {2: 80}
    assert book.lots_of(ALICE) == ([3], [50], 20)
    s = summarise_state(st)
    acme = next(p for p in s["programs"] if p["points"] == PTS)
    li = acme["liability"]
    assert {k: li[k] for k in ("issued", "redeemed", "expired", "outstanding")} == {
        "issued": 170,
        "redeemed": 20,
        "expired": 80,
        "outstanding": 70,
    }
    assert li["breakage_rate"] == round(80 / 170, 6)
    (period,) = acme["expiry"]["periods"]
    assert period["epoch"] == 2 and (period["expired"], period["issued_into"]) == (80, 100)
    assert period["breakage_rate"] == 0.8 and period["from"] == "1970-01-01T00:03:20Z"
    assert member_lots(st, ALICE)["acme"]["expired"] == 50


def test_spending_expired_points_is_a_finding_not_a_crash() -> None:
    c = with_lots()
    c.tx(210, *gift(ALICE, BOB, 80))  # alice has 70 live (+50 expired): 10 of them expired
    st = c.replay(at=210)
    assert errors(st) == ["expired-points-spent"]
    f = st.findings[0]
    assert "spent 80" in f.detail and "held 70 live" in f.detail
    # The replay followed the chain: no books finding on top of the breach.
    assert st.points[PTS].held == {ALICE: 40, BOB: 110}


def test_transfer_at_epoch_takes_that_lot_only() -> None:
    c = with_lots()
    move = {"from": ALICE, "to": BOB, "epoch": 3, "value": 10}
    c.tx(
        180,
        (PTS, "TransferAtEpoch", move),
        (PTS, "Transfer", {"from": ALICE, "to": BOB, "value": 10}),
    )
    st = c.replay(at=180)
    assert errors(st) == []
    assert st.points[PTS].lots.holdings[ALICE].lots == {2: 50, 3: 40, PERMANENT: 20}
    assert st.points[PTS].lots.holdings[BOB].lots == {2: 30, 3: 10}
    # The same move of a lot that has expired is a breach.
    c = with_lots()
    move = {"from": ALICE, "to": BOB, "epoch": 2, "value": 10}
    c.tx(
        205,
        (PTS, "TransferAtEpoch", move),
        (PTS, "Transfer", {"from": ALICE, "to": BOB, "value": 10}),
    )
    assert errors(c.replay(at=205)) == ["expired-points-spent"]
    # ... and more than a live lot holds is an overdraft.
    c = with_lots()
    move = {"from": ALICE, "to": BOB, "epoch": 3, "value": 60}
    c.tx(
        180,
        (PTS, "TransferAtEpoch", move),
        (PTS, "Transfer", {"from": ALICE, "to": BOB, "value": 60}),
    )
    assert errors(c.replay(at=180)) == ["lot-overdrawn"]


def test_policy_must_match_its_block_epoch() -> None:
    c = network()
    c.tx(250, policy(PTS, 3, 1))  # t = 250 is epoch 2
    assert errors(c.replay(at=250)) == ["policy-epoch-mismatch"]
