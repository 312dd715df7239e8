"""Insights answers kept in memory while nothing they read has changed.

A brand's dashboard is opened all day; its answers change only when what they read does (a
block indexed, an earning recorded, a survey answered) or when the clock reaches the next expiry
of a lot or a pass (the points economy is "as of now"). An answer is kept with the version of
what it read (`mirror_version`: the indexed head block and the off-chain change counter, both
moved in the transaction of every write they cover) and the time it stays true until; it is
served only while both hold. Other commits (API keys, sessions, the outbox) leave it be.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import BigInteger, Engine, cast, func, select

from ..chain.deploy import Program
from ..store.models import IndexerState, Pass, PointLot
from ..store.reader import ReaderBusy, for_engine, offchain_version

T_LOT = PointLot.__table__  # type: ignore[attr-defined]
T_PASS = Pass.__table__  # type: ignore[attr-defined]
T_STATE = IndexerState.__table__  # type: ignore[attr-defined]
MAX_ANSWERS = 512
HEAD_SQL = "SELECT checkpoint_block, checkpoint_hash FROM indexer_state"


def head_version(engine: Engine) -> str:
    """The indexed head (checkpoint block and hash): the indexer moves it in the transaction of
    every batch and rollback, so a reorg to another block of the same height changes it too."""
    reader = for_engine(engine)
    if reader is not None:
        try:
            row = reader.one(HEAD_SQL)
            return f"head:{row[0]}:{row[1]}" if row else "head:none"
        except ReaderBusy:
            pass
    with engine.connect() as conn:
        got = conn.execute(select(T_STATE.c.checkpoint_block, T_STATE.c.checkpoint_hash)).first()
    return f"head:{got[0]}:{got[1]}" if got else "head:none"


def mirror_version(engine: Engine) -> str:
    """What the points economy and the dashboard read, as a version: the indexed head and the
    off-chain change counter (earn records, rules, settings, surveys)."""
    return f"{head_version(engine)}|{offchain_version(engine)}"


def next_expiry(engine: Engine, program: Program, now: int) -> int | None:
    """The first time after `now` a lot of the program's points or one of its passes expires
    (None: none ever will): answers "as of now" stay true until then."""
    with engine.connect() as conn:
        exp = T_PASS.c.expires_at
        if conn.dialect.name != "postgresql":
            exp = cast(exp, BigInteger)  # uint256 as text on SQLite; pass expiries fit 64 bits
        lots = conn.execute(
            select(func.min(T_LOT.c.expires_at)).where(
                T_LOT.c.token == program.points.lower(), T_LOT.c.expires_at > now
            )
        ).scalar()
        passes = conn.execute(
            select(func.min(exp)).where(T_PASS.c.contract == program.pass_.lower(), exp > now)
        ).scalar()
    found = [int(x) for x in (lots, passes) if x is not None]
    return min(found) if found else None


class Answers:
    """Computed answers by key, each valid for one database version and until a time."""

    def __init__(self, size: int = MAX_ANSWERS) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, tuple[str, float | None, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # answers computed (not served from memory), for tests and benches

    def peek(self, key: Hashable, version: str) -> Any:
        """The kept answer for `key` at `version` (no time limit reached), or None."""
        with self._lock:
            hit = self._kept.get(key)
            if hit is not None and hit[0] == version and (hit[1] is None or time.time() < hit[1]):
                self._kept.move_to_end(key)
                return hit[2]
        return None

    def put(self, key: Hashable, version: str, answer: Any, until: float | None = None) -> None:
        """Keep `answer` for `key` at `version` (until `until`, or for as long as it holds)."""
        with self._lock:
            self.computed += 1
            self._kept[key] = (version, until, answer)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def get(
        self,
        key: Hashable,
        version: str,
        compute: Callable[[], Any],
        until: Callable[[], float | None] = lambda: None,
    ) -> Any:
        """The answer for `key` at database `version`: kept, or `compute()`d and kept until
        `until()` (computed after the answer; None: no time limit)."""
        hit = self.peek(key, version)
        if hit is not None:
            return hit
        answer = compute()
        self.put(key, version, answer, until())
        return answer
