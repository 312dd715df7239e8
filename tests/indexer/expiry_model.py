"""Synthetic chains for the expiry fold: random points activity run on the pure model
(`loyalty_ledger.expiry.Book`) and written as the decoded events the contract would emit."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from loyalty_ledger.expiry import PERMANENT, Book, Clock, NotEnoughPoints
from loyalty_ledger.indexer.decode import SPECS, Decoded
from loyalty_ledger.indexer.fetch import Header

ZERO = "0x" + "0" * 40
ZERO32 = "0x" + "0" * 64
DAY = 86_400


def b32(text: str) -> str:
    return "0x" + text.encode().ljust(32, b"\0").hex()


def addr(i: int) -> str:
    return "0x" + f"{i:040x}"


def spec(name: str, topics: int) -> Any:
    return next(s for (_, n), s in SPECS.items() if s.name == name and n == topics)


def block_hash(n: int, fork: int = 0) -> str:
    return "0x" + f"{fork:08x}{n:056x}"


@dataclass
class Chain:
    """Blocks of synthetic events; `books` holds the model after each block."""

    clock: Clock
    time: int
    fork: int = 0
    number: int = 0
    events: dict[int, list[Decoded]] = field(default_factory=dict)
    headers: dict[int, Header] = field(default_factory=dict)
    books: dict[int, dict[str, Book]] = field(default_factory=dict)
    _log: int = 0
    _tx: int = 0

    def block(self, books: dict[str, Book], gap: int) -> int:
        """Open the next block `gap` seconds later; returns its number."""
        if self.number:
            self.books[self.number] = copy.deepcopy(books)
        self.number += 1
        self.time += gap
        parent = self.headers[self.number - 1].hash if self.number > 1 else ZERO32
        self.headers[self.number] = Header(
            self.number, block_hash(self.number, self.fork), parent, self.time
        )
        self.events[self.number] = []
        self._log = 0
        return self.number

    def tx(self) -> str:
        self._tx += 1
        return "0x" + f"{self.fork:08x}{self._tx:056x}"

    def emit(self, tx: str, contract: str, name: str, topics: int, **args: Any) -> None:
        n = self.number
        ev = Decoded(
            n,
            self.headers[n].hash,
            tx,
            0,
            self._log,
            contract,
            name,
            args,
            spec(name, topics),
            self.time,
        )
        self._log += 1
        self.events[n].append(ev)

    def close(self, books: dict[str, Book]) -> None:
        self.books[self.number] = copy.deepcopy(books)

    def batch(self, lo: int, hi: int) -> list[Decoded]:
        return [e for n in range(lo, hi + 1) for e in self.events[n]]


# ------------------------------------------------------------------ operations (model + events)


def issue(ch: Chain, books: dict[str, Book], token: str, to: str, amount: int, reason: str) -> None:
    books[token].issue(to, amount, ch.time)
    tx = ch.tx()
    ch.emit(tx, token, "Transfer", 3, **{"from": ZERO, "to": to, "value": amount})
    ch.emit(tx, token, "PointsIssued", 3, member=to, amount=amount, reason=b32(reason), ref=ZERO32)


def move(ch: Chain, books: dict[str, Book], token: str, src: str, dst: str, amount: int) -> bool:
    try:
        books[token].move(src, dst, amount, ch.time)
    except NotEnoughPoints:
        return False
    ch.emit(ch.tx(), token, "Transfer", 3, **{"from": src, "to": dst, "value": amount})
    return True


def move_at(ch: Chain, books: dict[str, Book], token: str, src: str, dst: str) -> bool:
    """transferAtEpoch of part of `src`'s latest live lot."""
    book = books[token]
    live = [(x, a) for x, a in book.holding(src).live_lots(book.clock.epoch(ch.time))]
    live = [(x, a) for x, a in live if x != PERMANENT]
    if not live:
        return False
    x, a = live[-1]
    v = max(1, a // 2)
    book.move(src, dst, v, ch.time, at_epoch=x)
    tx = ch.tx()
    ch.emit(tx, token, "TransferAtEpoch", 3, **{"from": src, "to": dst, "epoch": x, "value": v})
    ch.emit(tx, token, "Transfer", 3, **{"from": src, "to": dst, "value": v})
    return True


def burn(ch: Chain, books: dict[str, Book], token: str, src: str, amount: int) -> bool:
    try:
        books[token].burn(src, amount, ch.time)
    except NotEnoughPoints:
        return False
    tx = ch.tx()
    ch.emit(tx, token, "Transfer", 3, **{"from": src, "to": ZERO, "value": amount})
    ch.emit(tx, token, "PointsRedeemed", 3, member=src, amount=amount, ref=ZERO32, by=src)
    return True


def policy(ch: Chain, books: dict[str, Book], token: str, validity: int) -> None:
    book = books[token]
    book.validity = validity
    ch.emit(
        ch.tx(),
        token,
        "ExpiryPolicySet",
        2,
        validityEpochs=validity,
        fromEpoch=book.clock.epoch(ch.time),
        epochZero=book.clock.zero,
        epochLength=book.clock.length,
        by=addr(999),
    )


def random_chain(
    seed: int, tokens: list[str], clocked: set[str], blocks: int = 120, holders: int = 6
) -> tuple[Chain, dict[str, Book]]:
    """Random activity on `tokens`; those in `clocked` get a 3-epoch policy after a while and
    a change of policy later. Epochs last 1000 s; blocks come 0-400 s apart."""
    rnd = random.Random(seed)
    clock = Clock(20_000 * DAY, 1000)
    ch = Chain(clock, clock.zero + 123)
    books = {t: Book(clock) for t in tokens}
    people = [addr(i + 1) for i in range(holders)]
    for i in range(blocks):
        ch.block(books, rnd.choice([0, 1, 12, 100, 400]))
        for t in sorted(clocked):
            if i == 10:
                policy(ch, books, t, 3)
            elif i == 70:
                policy(ch, books, t, rnd.choice([0, 2]))
        for _ in range(rnd.randint(1, 3)):
            t = rnd.choice(tokens)
            k = rnd.randrange(10)
            who, other = rnd.sample(people, 2)
            have = books[t].balance(who, ch.time)
            if k < 4 or have == 0:
                issue(ch, books, t, who, rnd.randint(1, 500), "purchase")
            elif k < 6:
                move(ch, books, t, who, other, rnd.randint(1, have))
            elif k < 7:
                move_at(ch, books, t, who, other)
            else:
                burn(ch, books, t, who, rnd.randint(1, have))
    ch.close(books)
    return ch, books
