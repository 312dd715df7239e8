"""The reorg window is the mirror's (recorded at first index, used by later runs, changed only
when asked, and said so); retry log lines name the RPC method, and the node's return is said
once."""

from __future__ import annotations

import logging
import random

import pytest
from sqlalchemy import Engine, select

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.indexer import ReorgTooDeep
from loyalty_ledger.store import models as m

from .faultproxy import FaultProxy
from .netutil import Net, activity, assert_mirror_equals_chain, member_addresses, reorg, rpc

pytestmark = [pytest.mark.chain]


def _setup(net: Net) -> random.Random:
    rnd = random.Random(7)
    net.add_brand("w")
    net.register_members(member_addresses(10) + net.w3.eth.accounts[1:4])
    activity(net, rnd, 3)
    return rnd


def _window(engine: Engine) -> int | None:
    with engine.connect() as c:
        return c.execute(select(m.IndexerState.__table__.c.reorg_window)).scalar_one()


def _kept(engine: Engine) -> int:
    with engine.connect() as c:
        return len(c.execute(select(m.BlockSeen.__table__.c.number)).all())


def test_window_is_recorded_and_used_by_later_runs(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    _setup(net)
    rpc(net.w3, "anvil_mine", [hex(20)])
    make_indexer(window=5).run(follow=False)
    assert _window(engine) == 5
    rpc(net.w3, "anvil_mine", [hex(10)])
    make_indexer().run(follow=False)  # no --window: the mirror's 5, not 64
    assert _window(engine) == 5 and _kept(engine) <= 6
    reorg(net, 8)
    with pytest.raises(ReorgTooDeep, match="deeper than the 5-block window") as err:
        make_indexer().run(follow=False)
    assert "64" not in str(err.value)


def test_a_different_window_asked_for_is_said_and_recorded(
    net: Net, make_indexer, engine, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net)
    make_indexer(window=5).run(follow=False)
    activity(net, rnd, 2)
    with caplog.at_level(logging.WARNING, logger="loyalty_ledger.indexer"):
        make_indexer(window=12).run(follow=False)
    said = [r.getMessage() for r in caplog.records if "reorg window" in r.getMessage()]
    assert len(said) == 1 and "5-block reorg window; --window 12 asked" in said[0]
    assert _window(engine) == 12
    rpc(net.w3, "anvil_mine", [hex(20)])
    make_indexer().run(follow=False)
    assert _window(engine) == 12 and 10 <= _kept(engine) <= 13
    reorg(net, 9)  # deeper than 5, within 12
    make_indexer().run(follow=False)
    assert_mirror_equals_chain(net, engine)


def test_retry_lines_name_the_method_and_the_return_is_said_once(
    net: Net, anvil: Anvil, make_indexer, engine, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    _setup(net)
    with FaultProxy(anvil.url) as proxy:
        proxy.script = ["truncate", "503", "reset", "short", "429"]  # the first five fail
        with caplog.at_level(logging.INFO, logger="loyalty_ledger.indexer"):
            idx = make_indexer(rpc_url=proxy.url)
            idx.run(follow=False)
    assert idx.finished and idx.rpc.retries == 5
    assert_mirror_equals_chain(net, engine)
    lines = [r.getMessage() for r in caplog.records]
    first = next(line for line in lines if "retry 1 in" in line)
    assert "rpc batch of 2 eth_chainId/eth_getBlockByNumber" in first
    assert "the answer was cut off after" in first and "truncated JSON" in first
    assert any("retry 5 in" in line and "HTTP 429" in line for line in lines)
    again = [line for line in lines if "answers again" in line]
    assert len(again) == 1 and "after 5 failed tries" in again[0]
    assert "eth_chainId" in again[0]
