"""The sink's in-memory copy of derived rows (the `state.State` it folds into), with the
bookkeeping of the batch being applied: dirty keys and undo-journal entries."""

from __future__ import annotations

import json
from typing import Any

import orjson

from . import derive, state


def dumps(value: Any) -> str:
    """JSON text; orjson when the values fit it (it refuses integers above 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


class _Lots(dict[state.Key, state.Row | None]):
    """Cached lot rows: a lot missing for a loaded holder is an absent row (None)."""

    def __init__(self, cache: Cache) -> None:
        super().__init__()
        self.cache = cache

    def __missing__(self, key: state.Key) -> None:
        if key[:2] not in self.cache.lot_index and "point_lot" not in self.cache.complete:
            raise KeyError(key)  # a holder whose lots were not loaded: a sink bug


class Cache:
    """Derived rows known to match the database (the sink is the only writer), plus the
    bookkeeping of the batch being applied: dirty keys and journal entries.

    Lots are loaded per holder: `lot_index` lists the expiry epochs cached for each loaded
    (token, holder), so `keys_of("point_lot", (token, holder))` needs no scan.
    """

    def __init__(self) -> None:
        self.rows: dict[str, dict[state.Key, state.Row | None]] = {t: {} for t in derive.TABLES}
        self.rows["point_lot"] = _Lots(self)
        self.whole_pass: set[str] = set()
        self.complete: set[str] = set()  # tables held in full: a missing key is an absent row
        self.checked: set[str] = set()  # tables whose size was looked at
        self.lot_index: dict[state.Key, set[int]] = {}  # loaded (token, holder) → epochs
        self.clocked: set[str] | None = None  # points contracts with an expiry clock
        self.begin(floor=0)

    def begin(self, floor: int) -> None:
        self.floor = floor
        self.dirty: dict[str, set[state.Key]] = {t: set() for t in derive.TABLES}
        self.journal: list[dict[str, Any]] = []
        self.touched: set[tuple[str, state.Key, int]] = set()

    def get(self, tbl: str, key: state.Key) -> state.Row | None:
        return self.rows[tbl][key]

    def put(self, tbl: str, key: state.Key, row: state.Row | None, block: int) -> None:
        if tbl == "point_lot" and key not in self.rows[tbl]:
            self.lot_index.setdefault(key[:2], set()).add(key[2])
        if block > self.floor and (tbl, key, block) not in self.touched:
            self.touched.add((tbl, key, block))
            old = self.rows[tbl][key]
            self.journal.append(
                {
                    "block_number": block,
                    "tbl": tbl,
                    "key": list(key),
                    "old": dict(old) if old is not None else None,
                }
            )
        self.rows[tbl][key] = row
        self.dirty[tbl].add(key)

    def keys_of(self, tbl: str, prefix: state.Key) -> list[state.Key]:
        if tbl == "point_lot":
            if prefix not in self.lot_index and tbl not in self.complete:
                raise KeyError(prefix)  # a holder whose lots were not loaded: a sink bug
            rows = self.rows[tbl]
            return [
                k for x in self.lot_index.get(prefix, ()) if rows.get(k := (*prefix, x)) is not None
            ]
        n = len(prefix)
        return [k for k, v in self.rows[tbl].items() if v is not None and k[:n] == prefix]

    def add_lot(self, key: state.Key, row: state.Row) -> None:
        """A lot row read from the database."""
        self.rows["point_lot"][key] = row
        self.lot_index.setdefault(key[:2], set()).add(key[2])

    def lots_loaded(self, holder: state.Key) -> None:
        """Every lot of (token, holder) is cached now (maybe none)."""
        self.lot_index.setdefault(holder, set())
