"""The shapes the pure folds share: a derived row, its key, and the `State` they read and write
(`derive`, `lots` and `exchanges` fold into it; the sink's `Cache` implements it)."""

from __future__ import annotations

from typing import Any, Protocol

ZERO = "0x" + "0" * 40
Row = dict[str, Any]
Key = tuple[Any, ...]


class State(Protocol):
    def get(self, tbl: str, key: Key) -> Row | None: ...
    def put(self, tbl: str, key: Key, row: Row | None, block: int) -> None: ...
    def keys_of(self, tbl: str, prefix: Key) -> list[Key]: ...
