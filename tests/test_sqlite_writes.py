"""SQLite in WAL mode refuses at once ("database is locked") a transaction's upgrade from reader
to writer when another writer committed since its read began. `engine.begin()` is begun to
write, so on SQLite it is the writer from its first statement: the other writer waits for it
instead of making it fail (answered 503 by the API before)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from loyalty_ledger.store import make_engine


def test_a_write_transaction_that_reads_first_is_not_refused_by_another_writer(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    mine, other = make_engine(url), make_engine(url)
    with mine.begin() as conn:
        conn.execute(text("create table t (n integer)"))
    done = threading.Event()

    def write_meanwhile() -> None:
        with other.begin() as c:
            c.execute(text("insert into t values (2)"))
        done.set()

    try:
        with mine.begin() as conn:
            seen = conn.execute(text("select count(*) from t")).scalar_one()
            writer = threading.Thread(target=write_meanwhile, daemon=True)
            writer.start()
            # The other writer waits for this transaction instead of committing in between.
            assert not done.wait(0.5)
            conn.execute(text("insert into t values (:n)"), {"n": seen + 1})
        writer.join(10)
        assert done.is_set()
        with mine.connect() as conn:
            assert conn.execute(text("select n from t order by rowid")).scalars().all() == [1, 2]
    finally:
        mine.dispose()
        other.dispose()


def test_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("create table t (n integer)"))
        conn.execute(text("insert into t values (1)"))
    try:
        with engine.begin() as writing:
            writing.execute(text("insert into t values (2)"))
            with engine.connect() as reading:  # a snapshot from before the write: no wait
                assert reading.execute(text("select count(*) from t")).scalar_one() == 1
    finally:
        engine.dispose()
