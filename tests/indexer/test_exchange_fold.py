"""The coalition exchange through the real sink, on synthetic events (no node): the exchange
row follows registration, approvals, opening, pauses and swaps; the two sides of a swap are
`swap_out` / `swap_in` ledger lines; an exchange adopted late relabels the swaps mirrored."""

from __future__ import annotations

from sqlalchemy import Engine, select

from loyalty_ledger.expiry import Book, Clock
from loyalty_ledger.indexer.sink import Sink
from loyalty_ledger.store import migrate, queries
from loyalty_ledger.store import models as m

from .expiry_model import ZERO, Chain, addr, b32, issue

XCH, A_PTS, B_PTS = addr(0xE0), addr(0xA0), addr(0xB0)
A, B = b32("acme"), b32("beta")
ALICE, ADMIN_A, ADMIN_B, OPERATOR = addr(1), addr(2), addr(3), addr(4)


def _id(n: int) -> str:
    return "0x" + f"{n:064x}"


def _swap(ch: Chain, books: dict[str, Book], xid: int, burned: int, issued: int) -> None:
    tx = ch.tx()
    books[A_PTS].burn(ALICE, burned, ch.time)
    books[B_PTS].issue(ALICE, issued, ch.time)
    ch.emit(tx, A_PTS, "Transfer", 3, **{"from": ALICE, "to": ZERO, "value": burned})
    ch.emit(tx, A_PTS, "PointsRedeemed", 3, member=ALICE, amount=burned, ref=_id(xid), by=XCH)
    ch.emit(tx, B_PTS, "Transfer", 3, **{"from": ZERO, "to": ALICE, "value": issued})
    ch.emit(
        tx,
        B_PTS,
        "PointsIssued",
        3,
        member=ALICE,
        amount=issued,
        reason=b32("exchange"),
        ref=_id(xid),
    )
    ch.emit(
        tx,
        XCH,
        "Swapped",
        3,
        id=xid,
        member=ALICE,
        fromBrand=A,
        amountIn=burned,
        toBrand=B,
        amountOut=issued,
        rateFrom=100,
        rateTo=80,
    )


def _chain() -> tuple[Chain, dict[str, Book]]:
    clock = Clock(20_000 * 86_400, 1000)
    ch = Chain(clock, clock.zero + 5)
    books = {A_PTS: Book(clock), B_PTS: Book(clock)}
    ch.block(books, 1)
    issue(ch, books, A_PTS, ALICE, 1000, "purchase")
    reg = {"rateFrom": 100, "rateTo": 80, "dailyCap": 500, "budget": 10_000}
    ch.emit(ch.tx(), XCH, "ExchangeRegistered", 4, id=0, fromBrand=A, toBrand=B, **reg)
    ch.block(books, 12)
    ch.emit(ch.tx(), XCH, "ExchangeApproved", 3, id=0, brandId=A, by=ADMIN_A)
    ch.block(books, 12)
    tx = ch.tx()
    ch.emit(tx, XCH, "ExchangeApproved", 3, id=0, brandId=B, by=ADMIN_B)
    ch.emit(tx, XCH, "ExchangeOpened", 2, id=0)
    ch.block(books, 12)
    _swap(ch, books, 0, 100, 80)
    ch.block(books, 12)
    zero = "0x" + "0" * 64
    ch.emit(ch.tx(), XCH, "ExchangePauseSet", 3, id=0, brandId=zero, by=OPERATOR, paused=True)
    ch.emit(ch.tx(), XCH, "ExchangePauseSet", 3, id=0, brandId=B, by=ADMIN_B, paused=True)
    ch.block(books, 12)
    ch.emit(ch.tx(), XCH, "ExchangePauseSet", 3, id=0, brandId=zero, by=OPERATOR, paused=False)
    ch.block(books, 12)
    _swap(ch, books, 0, 250, 200)
    ch.close(books)
    return ch, books


def _sink(engine: Engine) -> Sink:
    migrate(engine)
    sink = Sink(engine, chain_id=31337, window=10_000)
    sink.init_state(genesis_hash="0x" + "0" * 64, registry=addr(0xABC), start_block=1)
    return sink


def _write_all(sink: Sink, ch: Chain, events_of: object = None) -> None:
    for n in range(1, ch.number + 1):
        evs = ch.events[n] if events_of is None else [e for e in ch.events[n] if e.contract != XCH]
        sink.write_batch(
            evs,
            [ch.headers[n]],
            to_block=n,
            to_hash=ch.headers[n].hash,
            floor=0,
            checkpoint=n - 1,
            to_time=ch.headers[n].timestamp,
        )


def _ledger(engine: Engine) -> list[tuple[str, str, int, str | None, int | None]]:
    t = m.LedgerEntry.__table__  # type: ignore[attr-defined]
    with engine.connect() as c:
        return [
            (r.kind, r.token, r.amount, r.ref, r.block_time)
            for r in c.execute(select(t).order_by(t.c.block_number, t.c.log_index))
        ]


def _expected(ch: Chain) -> list[tuple[str, str, int, str | None, int | None]]:
    t = {n: ch.headers[n].timestamp for n in ch.headers}
    return [
        ("issue", A_PTS, 1000, "0x" + "0" * 64, t[1]),
        ("swap_out", A_PTS, 100, _id(0), t[4]),
        ("swap_in", B_PTS, 80, _id(0), t[4]),
        ("swap_out", A_PTS, 250, _id(0), t[7]),
        ("swap_in", B_PTS, 200, _id(0), t[7]),
    ]


def _assert_exchange(engine: Engine) -> None:
    with engine.connect() as c:
        rows = queries.exchanges(c)
        assert queries.exchange(c, 0) == rows[0]
        assert queries.exchange(c, 1) is None
    assert len(rows) == 1
    row = rows[0]
    assert (row["from_brand"], row["to_brand"]) == (A, B)
    assert (row["rate_from"], row["rate_to"], row["daily_cap"], row["budget"]) == (
        100,
        80,
        500,
        10_000,
    )
    assert row["issued"] == 280
    assert (row["approved_from"], row["approved_to"], row["opened_block"]) == (True, True, 3)
    assert (row["paused_from"], row["paused_to"], row["paused_operator"]) == (False, True, False)
    assert row["block_number"] == 1


def test_exchange_lifecycle_and_swaps(engine: Engine) -> None:
    ch, _ = _chain()
    sink = _sink(engine)
    sink.exchanges = frozenset({XCH})
    _write_all(sink, ch)
    _assert_exchange(engine)
    assert _ledger(engine) == _expected(ch)
    # a rollback below the second swap and the pauses restores the row as it was
    sink.rollback(4, ch.headers[4].hash, ancestor_time=ch.headers[4].timestamp)
    with engine.connect() as c:
        row = queries.exchange(c, 0)
    assert row is not None and row["issued"] == 80
    assert (row["paused_to"], row["paused_operator"]) == (False, False)


def test_exchange_adopted_late(engine: Engine) -> None:
    """A mirror that indexed the swaps before knowing the exchange: adopting it writes the
    exchange's past events and turns the burns it made into swap_out lines."""
    ch, _ = _chain()
    sink = _sink(engine)
    _write_all(sink, ch, events_of="points only")
    kinds = [k for k, *_ in _ledger(engine)]
    assert kinds == ["issue", "redeem", "swap_in", "redeem", "swap_in"]
    mine = [e for n in range(1, ch.number + 1) for e in ch.events[n] if e.contract == XCH]
    Sink(engine, chain_id=31337).adopt_exchange(XCH, mine, floor=0)
    _assert_exchange(engine)
    assert _ledger(engine) == _expected(ch)
    with engine.connect() as c:
        st = c.execute(select(m.IndexerState.__table__)).mappings().one()  # type: ignore[attr-defined]
    assert st["exchange_address"] == XCH
