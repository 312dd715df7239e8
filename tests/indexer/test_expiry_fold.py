"""The expiry fold through the real sink, on synthetic events (no node): after every batch the
mirror's balances, lots and clocks equal the pure model's (`loyalty_ledger.expiry`), rollbacks
restore lots and swept epochs, and programs with no policy never get a lot."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import Engine, select

from loyalty_ledger.expiry import PERMANENT, Book
from loyalty_ledger.indexer.fetch import Header, fill_times
from loyalty_ledger.indexer.lots import ExpiryMismatch
from loyalty_ledger.indexer.sink import Sink
from loyalty_ledger.store import migrate, queries
from loyalty_ledger.store import models as m

from .expiry_model import ZERO, Chain, addr, random_chain

T_CLOCKED, T_PLAIN = addr(0xC1), addr(0xC2)


def _sink(engine: Engine) -> Sink:
    migrate(engine)
    sink = Sink(engine, chain_id=31337, window=10_000)
    sink.init_state(genesis_hash="0x" + "0" * 64, registry=addr(0xABC), start_block=1)
    return sink


def _write(sink: Sink, ch: Chain, lo: int, hi: int) -> None:
    sink.write_batch(
        ch.batch(lo, hi),
        [ch.headers[n] for n in range(lo, hi + 1)],
        to_block=hi,
        to_hash=ch.headers[hi].hash,
        floor=0,
        checkpoint=lo - 1,
        to_time=ch.headers[hi].timestamp,
    )


def _index(sink: Sink, ch: Chain, lo: int, hi: int, rnd: random.Random, check: Any = None) -> None:
    while lo <= hi:
        end = min(hi, lo + rnd.randint(0, 14))
        _write(sink, ch, lo, end)
        if check is not None:
            check(end)
        lo = end + 1


def assert_matches_model(engine: Engine, books: dict[str, Book], now: int) -> None:
    """Balances, lots (expired ones kept), supply and clock equal the model at time `now`."""
    with engine.connect() as c:
        bal = {(r.token, r.holder): r.amount for r in c.execute(select(m.Balance.__table__)).all()}
        lots = {
            (r.token, r.holder, r.expiry_epoch): (r.expires_at, r.amount)
            for r in c.execute(select(m.PointLot.__table__)).all()
        }
        cs = {
            r["address"]: r for r in c.execute(select(m.ContractState.__table__)).mappings().all()
        }
    for t, book in books.items():
        want_bal = {(t, h): book.balance(h, now) for h in book.holdings if book.balance(h, now)}
        assert {k: v for k, v in bal.items() if k[0] == t} == want_bal
        want_lots = {
            (t, h, x): (book.clock.start(x), a)
            for h, held in book.holdings.items()
            for x, a in held.lots.items()
            if x != PERMANENT and a
        }
        assert {k: v for k, v in lots.items() if k[0] == t} == want_lots
        row = cs.get(t)
        assert (row["total_supply"] if row else 0) == book.supply
        if row is not None and row["epoch_length"]:
            assert row["swept_epoch"] == book.clock.epoch(now)
            assert row["validity_epochs"] == book.validity
            assert (row["epoch_zero"], row["epoch_length"]) == (book.clock.zero, book.clock.length)
        else:
            assert not want_lots


def test_fold_equals_model_after_every_batch(engine: Engine) -> None:
    ch, books = random_chain(1, [T_CLOCKED, T_PLAIN], {T_CLOCKED}, blocks=140)
    sink = _sink(engine)

    def check(end: int) -> None:
        assert_matches_model(engine, ch.books[end], ch.headers[end].timestamp)

    _index(sink, ch, 1, ch.number, random.Random(2), check)
    with engine.connect() as c:
        kinds = {r.kind for r in c.execute(select(m.LedgerEntry.__table__)).all()}
        times = {r.block_time for r in c.execute(select(m.LedgerEntry.__table__)).all()}
        plain = c.execute(
            select(m.PointLot.__table__).where(m.PointLot.__table__.c.token == T_PLAIN)
        ).first()
    assert kinds >= {"issue", "transfer", "redeem"}
    assert None not in times
    assert plain is None, "a program without a policy got a lot"
    book = books[T_CLOCKED]
    expired = book.expired_total(ch.time)
    assert expired > 0, "the scenario should let some points expire"


def test_rollback_restores_lots_and_swept_epoch(engine: Engine) -> None:
    ch, books = random_chain(5, [T_CLOCKED, T_PLAIN], {T_CLOCKED}, blocks=110)
    sink = _sink(engine)
    rnd = random.Random(3)
    _index(sink, ch, 1, ch.number, rnd)
    head = ch.number
    clock = books[T_CLOCKED].clock
    ancestors = [a for a in (95, 60, 40) if a < head]
    for anc in ancestors:
        h = ch.headers[anc]
        assert clock.epoch(h.timestamp) < clock.epoch(ch.headers[head].timestamp)
        sink.rollback(anc, h.hash, ancestor_time=h.timestamp)
        assert_matches_model(engine, ch.books[anc], h.timestamp)
        head = anc
    _index(sink, ch, head + 1, ch.number, rnd)  # the same blocks again: the same state
    assert_matches_model(engine, books, ch.time)


def test_restart_mid_way_gives_the_same_state(engine: Engine) -> None:
    """A new sink (a restarted indexer: empty cache) carries on from the stored state."""
    ch, books = random_chain(9, [T_CLOCKED], {T_CLOCKED}, blocks=90)
    rnd = random.Random(4)
    _index(_sink(engine), ch, 1, 45, rnd)
    sink = Sink(engine, chain_id=31337, window=10_000)
    _index(sink, ch, 46, ch.number, rnd)
    assert_matches_model(engine, books, ch.time)


def test_queries_over_lots(engine: Engine) -> None:
    ch, books = random_chain(11, [T_CLOCKED], {T_CLOCKED}, blocks=100)
    sink = _sink(engine)
    _index(sink, ch, 1, ch.number, random.Random(1))
    book = books[T_CLOCKED]
    epoch = book.clock.epoch(ch.time)
    with engine.connect() as c:
        policy = queries.expiry_policy(c, T_CLOCKED)
        assert policy is not None and policy["swept_epoch"] == epoch
        assert queries.expiry_policy(c, T_PLAIN) is None
        soon: dict[str, int] = {}
        for h, held in book.holdings.items():
            live = [(x, a) for x, a in held.live_lots(epoch) if x != PERMANENT]
            got = queries.live_lots(c, T_CLOCKED, h)
            assert [(r["expiry_epoch"], r["amount"]) for r in got] == live
            assert queries.permanent_balance(c, T_CLOCKED, h) == held.lots.get(PERMANENT, 0)
            nxt = sum(a for x, a in live if x <= epoch + 2)
            if nxt:
                soon[h] = nxt
        start, end = book.clock.start(epoch + 1), book.clock.start(epoch + 3)
        assert queries.expiring_between(c, T_CLOCKED, start - 999, end) == soon
        total = queries.expired_in(c, T_CLOCKED, 0, 2**62)
        assert total == book.expired_total(ch.time) > 0
        assert queries.expired_in(c, T_CLOCKED, 0, 2**62, now=ch.time) == total
        first = book.clock.start(min(x for h in book.holdings.values() for x in h.lots))
        assert queries.expired_in(c, T_CLOCKED, 0, first) == 0


def test_a_debit_the_lots_cannot_explain_stops_the_batch(engine: Engine) -> None:
    ch, books = random_chain(2, [T_CLOCKED], {T_CLOCKED}, blocks=20)
    sink = _sink(engine)
    _index(sink, ch, 1, ch.number, random.Random(0))
    n = ch.block(books, 1)
    who = next(h for h in books[T_CLOCKED].holdings if books[T_CLOCKED].balance(h, ch.time))
    too_much = books[T_CLOCKED].balance(who, ch.time) + 1
    ch.emit(ch.tx(), T_CLOCKED, "Transfer", 3, **{"from": who, "to": ZERO, "value": too_much})
    with pytest.raises(ExpiryMismatch, match="lots give"):
        _write(sink, ch, n, n)
    with engine.connect() as c:  # nothing of the refused batch was written
        assert queries.as_of(c) == (n - 1, ch.headers[n - 1].hash)


class _Rpc:
    def __init__(self, hdrs: dict[int, Header]) -> None:
        self.hdrs, self.asked = hdrs, []  # type: ignore[var-annotated]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        out = []
        for _, (num, _full) in calls:
            n = int(num, 16)
            self.asked.append(n)
            h = self.hdrs[n]
            out.append({"hash": h.hash, "parentHash": h.parent_hash, "timestamp": hex(h.timestamp)})
        return out


def test_fill_times_asks_only_for_missing_blocks() -> None:
    ch, _ = random_chain(3, [T_CLOCKED], {T_CLOCKED}, blocks=12)
    events = ch.batch(1, 12)
    want = [e.block_time for e in events]
    for e in events:
        if e.block_number % 2:
            e.block_time = None
    rpc = _Rpc(ch.headers)
    known = {n: ch.headers[n] for n in (1, 3)}
    assert fill_times(rpc, events, known)  # type: ignore[arg-type]
    assert [e.block_time for e in events] == want
    odd = {e.block_number for e in events if e.block_number % 2}
    assert sorted(rpc.asked) == sorted(odd - {1, 3})
    events[0].block_time = None
    events[0].block_hash = "0x" + "f" * 64  # the chain moved: the header disagrees
    assert not fill_times(rpc, events, {})  # type: ignore[arg-type]
