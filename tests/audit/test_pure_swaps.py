"""The pure core on hand-made logs: coalition swaps, their books and breaches, the view
parsers, the report's tables and the mirror rows of lots, swaps and exchanges."""

from __future__ import annotations

from loyalty_ledger.audit.decode import decode
from loyalty_ledger.audit.mirror_ledger import ledger_rows
from loyalty_ledger.audit.mirror_rows import derived_rows
from loyalty_ledger.audit.replay_exchange import ref_of
from loyalty_ledger.audit.report import AuditReport, to_html, to_text
from loyalty_ledger.audit.summary import summarise_state
from loyalty_ledger.audit.verify_books import parse_exchange, parse_lots

from .logchain import (
    ACME,
    ADMIN,
    ALICE,
    BOLT,
    DAY,
    EXC,
    KINDS,
    LEN,
    PTS,
    PTS2,
    REG,
    Z32,
    errors,
    issue,
    redeem,
    swap,
    with_exchange,
)


def test_swaps_balance_on_both_sides() -> None:
    st = with_exchange().replay(at=DAY + 30)
    assert errors(st) == []
    a, b = st.points[PTS], st.points[PTS2]
    assert (a.issued, a.redeemed, a.swapped_out, a.expired, a.outstanding) == (400, 350, 350, 0, 50)
    assert (b.issued, b.swapped_in, b.expired, b.outstanding) == (280, 280, 80, 200)
    assert b.issued_by_reason == {}  # swapped in, not issued
    ex = st.exchanges[(EXC, 0)]
    assert (ex.swaps, ex.burned, ex.side_out, ex.issued, ex.side_in) == (2, 350, 350, 280, 280)
    s = summarise_state(st)
    (x,) = s["exchanges"]
    assert (x["amount_in"], x["amount_out"], x["budget_left"], x["open"]) == (350, 280, 120, True)
    acme = next(p for p in s["programs"] if p["points"] == PTS)["liability"]
    assert (acme["issued"], acme["redeemed"], acme["swapped_out"]) == (400, 0, 350)
    bolt = next(p for p in s["programs"] if p["points"] == PTS2)["liability"]
    assert (bolt["issued"], bolt["swapped_in"], bolt["expired"]) == (0, 280, 80)
    assert bolt["breakage_rate"] == round(80 / 280, 6)


def test_swap_sides_must_match_swapped() -> None:
    c = with_exchange()
    c.tx(DAY + 40, *swap(ALICE, 40, 32, side_in=37))  # the to side issued 5 more
    c.tx(DAY + 50, *redeem(PTS, ALICE, 5, EXC, ref_of(0)))  # a burn with no Swapped
    st = c.replay(at=DAY + 50)
    assert sorted(errors(st)) == ["swap-side-without-swap", "swap-totals-in"]
    tot = next(f for f in st.findings if f.code == "swap-totals-in")
    assert (tot.expected, tot.actual) == (312, 317)


def test_swap_over_cap_budget_and_closed() -> None:
    c = with_exchange()
    c.tx(DAY + 35, *issue(PTS, ALICE, 500))
    c.tx(DAY + 40, *swap(ALICE, 100, 80))  # 350 spent that day: over the cap of 300
    pause = {"id": 0, "brandId": Z32, "by": ADMIN, "paused": True}
    c.tx(DAY + 41, (EXC, "ExchangePauseSet", pause))
    c.tx(DAY + 42, *swap(ALICE, 75, 60))  # while paused, and 420 issued of a 400 budget
    codes = errors(c.replay(at=DAY + 42))
    for code in ("swap-over-daily-cap", "swap-while-closed", "swap-over-budget", "over-budget"):
        assert code in codes, codes
    assert "swap-totals-in" not in codes and "expired-points-spent" not in codes


def test_view_parsers() -> None:
    def word(n: int) -> str:
        return f"{n:064x}"

    lots = "0x" + word(64) + word(160) + word(2) + word(5) + word(7) + word(2) + word(11) + word(3)
    assert parse_lots(lots) == [[5, 7], [11, 3]]
    assert parse_lots("0x" + word(64) + word(96) + word(0) + word(0)) == [[], []]
    raw = "0x" + ACME[2:] + BOLT[2:] + "".join(word(n) for n in (100, 80, 300, 400, 280))
    raw += word(1) + word(1) + word(0) + word(0) + word(1)
    assert parse_exchange(raw) == [
        ACME,
        BOLT,
        100,
        80,
        300,
        400,
        280,
        True,
        True,
        False,
        False,
        True,
    ]


def test_report_shows_breakage_and_swap_totals() -> None:
    st = with_exchange().replay(at=DAY + 30)
    rep = AuditReport(31337, REG, 0, 9, "0x", "0x", 0, 0, summarise_state(st), st.findings)
    text = to_text(rep)
    assert "expired 80" in text and "breakage 28.57%" in text
    assert "epoch 1 (1970-01-01T00:01:40Z..1970-01-01T00:03:19Z): expired 80 of 80" in text
    assert "2 swap(s), in 350 (from side burned 350), out 280 (to side issued 280)" in text
    page = to_html(rep)
    assert "Expired points and breakage" in page and "swap totals" in page


def test_mirror_rows_of_lots_swaps_and_exchange() -> None:
    c = with_exchange()
    st = c.replay(at=DAY + 30)
    tables, _ = derived_rows(st)
    assert tables["point_lot"] == {
        (PTS, ALICE, 1000): {"expires_at": 100_000, "amount": 50},
        (PTS2, ALICE, 1): {"expires_at": 100, "amount": 80},  # dead, kept as the record
        (PTS2, ALICE, 865): {"expires_at": 86_500, "amount": 200},
    }
    cs = tables["contract_state"][(PTS2,)]
    assert (cs["validity_epochs"], cs["epoch_length"], cs["swept_epoch"]) == (1, LEN, 864)
    assert tables["exchange"][(0,)]["issued"] == 280
    assert tables["exchange"][(0,)]["opened_block"] == 6  # the approvals' block
    events = [decode(log, KINDS[log.address]) for log in c.logs]
    ledger = ledger_rows(events, {EXC})
    swaps = [r for r in ledger.values() if r["kind"].startswith("swap")]
    assert [(r["kind"], r["token"], r["amount"]) for r in swaps] == [
        ("swap_out", PTS, 100),
        ("swap_in", PTS2, 80),
        ("swap_out", PTS, 250),
        ("swap_in", PTS2, 200),
    ]
    assert swaps[0]["ref"] == ref_of(0) and swaps[0]["by"] == EXC
    assert swaps[1]["reason"] == "exchange" and swaps[1]["block_time"] == 30
