"""A follower outlives what heals: a node whose chain went back below the mirror (an embedded
chain reloaded from a state saved seconds before a crash) is rolled back to after `lag_grace`;
a database that goes away is waited for, said once, and the run starts again from its
checkpoint."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from loyalty_ledger.health import Outages
from loyalty_ledger.indexer.outages import through_outages
from loyalty_ledger.store import database_unavailable, make_engine

from ..pg import fresh_schema
from ..tcpproxy import TcpProxy
from .netutil import Follower, Net, activity, assert_mirror_equals_chain, member_addresses, rpc


def _setup(net: Net) -> None:
    import random

    net.add_brand("coffee")
    net.register_members(member_addresses(20))
    activity(net, random.Random(3), 4)


@pytest.mark.parametrize("grace", [0.0, 1.5])
def test_a_node_back_below_the_checkpoint_is_rolled_back_after_the_grace(
    net: Net, make_indexer: Any, engine: Engine, grace: float
) -> None:
    _setup(net)
    with Follower(make_indexer(lag_grace=grace), net, engine) as f:
        f.wait_synced()
        saved = rpc(net.w3, "evm_snapshot")
        kept = net.w3.eth.block_number
        import random

        activity(net, random.Random(4), 3)  # blocks a crash will lose
        lost = f.wait_synced()
        assert lost > kept
        assert rpc(net.w3, "evm_revert", [saved])  # the chain is back at `kept`, same hashes
        t0 = time.monotonic()
        while f.checkpoint()[0] != kept:
            assert f.error is None and time.monotonic() - t0 < 20, f.checkpoint()
            time.sleep(0.02)
        took = time.monotonic() - t0
        assert took >= grace  # a lagging node gets its grace; the job's own node gets none
        assert_mirror_equals_chain(net, engine)


def _locked() -> OperationalError:
    return OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked"))


def test_database_errors_that_heal_are_told_from_bugs() -> None:
    assert database_unavailable(_locked()) == "OperationalError: database is locked"
    bug = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: event"))
    assert database_unavailable(bug) is None
    assert database_unavailable(ValueError("x")) is None


def test_a_follower_waits_for_the_database_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PostgreSQL behind a proxy that the test cuts for a while: each run fails for it, the
    wait is said once and its end once, and the next run starts when the database answers."""
    with fresh_schema("outage") as direct, TcpProxy(5432) as proxy:
        url = direct.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
        stop, runs = threading.Event(), []

        def run() -> None:  # like an indexer run: one query, then done
            runs.append(time.monotonic())
            engine = make_engine(url)
            try:
                with engine.connect() as conn:
                    conn.execute(text("select 1"))
            finally:
                engine.dispose()

        proxy.cut()
        threading.Timer(2.0, proxy.restore).start()
        outages = Outages("indexer", logging.getLogger("loyalty_ledger.indexer"))
        t0 = time.monotonic()
        with caplog.at_level(logging.WARNING, "loyalty_ledger.indexer"):
            through_outages(run, url, stop, outages)
        assert 2.0 <= time.monotonic() - t0 < 10 and len(runs) == 2
        said = [r.getMessage() for r in caplog.records]
        assert sum("database is unavailable" in m for m in said) == 1, said  # not per try
        assert sum("database is back" in m for m in said) == 1, said
        assert not outages.is_down("database") and outages.ended[0][0] == "database"

        def bug() -> None:
            raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))

        with pytest.raises(OperationalError, match="no such table"):
            through_outages(bug, url, stop, outages)  # a bug is not an outage: the run stops
