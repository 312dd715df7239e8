"""Reads of one answer run at once on PostgreSQL, each on its own connection (the server works
for each in its own process), so an answer of three reads takes about as long as its longest on
two cores; the reads may see commits of one another's moments, and an answer is kept under the
version read before it was computed (`answers`), so a write during it is computed again. On
SQLite the reads run one after the other on one connection (one snapshot): SQLite's threads in
one process do not run at once (measured: two reads side by side took longer than in turn)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection, Engine

Read = Callable[[Connection], Any]


def together(engine: Engine, *reads: Read) -> list[Any]:
    """Each read's result, in order; the reads run at once, each on a connection of its own."""

    def run(read: Read) -> Any:
        with engine.connect() as conn:
            return read(conn)

    if len(reads) < 2 or engine.dialect.name != "postgresql":
        with engine.connect() as conn:
            return [read(conn) for read in reads]
    with ThreadPoolExecutor(max_workers=len(reads), thread_name_prefix="insights") as pool:
        return list(pool.map(run, reads))
