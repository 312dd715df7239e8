"""Reorgs (anvil_reorg): rolled back to the common ancestor, re-applied, mirror equals chain."""

from __future__ import annotations

import random

import pytest

from loyalty_ledger.indexer import ReorgTooDeep

from .netutil import (
    Follower,
    Net,
    activity,
    assert_mirror_equals_chain,
    member_addresses,
    reorg,
    rpc,
)

pytestmark = [pytest.mark.chain]


def _setup(net: Net, brands: int = 2, rounds: int = 15) -> random.Random:
    rnd = random.Random(3)
    for i in range(brands):
        net.add_brand(f"b{i}")
    net.register_members(member_addresses(40) + net.w3.eth.accounts[1:4])
    activity(net, rnd, rounds)
    return rnd


@pytest.mark.parametrize(
    ("depth", "with_tx"),
    [(1, True), (1, False), (3, True), (10, True)],
    ids=["one-block-changed", "event-removed", "depth3", "depth10"],
)
def test_reorg_while_stopped(net: Net, make_indexer, engine, depth: int, with_tx: bool) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net)
    make_indexer().run(follow=False)
    assert_mirror_equals_chain(net, engine)
    reorg(net, depth, with_tx)
    activity(net, rnd, 2)
    make_indexer().run(follow=False)
    assert_mirror_equals_chain(net, engine)


def test_reorgs_live_three_in_quick_succession(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net)
    with Follower(make_indexer(), net, engine) as f:
        f.wait_synced()
        for depth in (2, 4, 3):
            reorg(net, depth)
        f.wait_synced()
        assert_mirror_equals_chain(net, engine)
        activity(net, rnd, 5)
        reorg(net, 5)
        f.wait_synced()
        assert_mirror_equals_chain(net, engine)


def test_reorg_below_backfill_cursor(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    """A reorg under blocks the backfill wrote already, while it is still going."""
    _setup(net, rounds=25)
    rpc(net.w3, "anvil_mine", [hex(150)])
    idx = make_indexer(initial_range=3, max_range=3)
    with Follower(idx, net, engine) as f:
        head = net.w3.eth.block_number
        import time

        while f.checkpoint()[0] < head - 140:
            assert f.error is None
            time.sleep(0.005)
        assert f.checkpoint()[0] < head - 100
        reorg(net, 100)  # the cursor is above head-140+..., so blocks below it change
        f.wait_synced(60)
        assert_mirror_equals_chain(net, engine)


def test_reorg_drops_brand_registration(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net, brands=1)
    late = net.add_brand("late", register=False)
    net.tx(
        net.registry.functions.registerProgram(
            late.brand_id, late.points.address, late.pass_.address, net.op, "late"
        )
    )
    net.issue_batch(late, net.members[:10], [5] * 10)
    net.tx(late.pass_.functions.issue(net.members[0], 0, 0))
    make_indexer().run(follow=False)
    assert_mirror_equals_chain(net, engine)
    reorg(net, 3, with_tx=False)  # registration, issue and pass gone
    make_indexer().run(follow=False)
    assert_mirror_equals_chain(net, engine)
    from sqlalchemy import select

    from loyalty_ledger.store import models as m

    with engine.connect() as c:
        assert c.execute(select(m.Program.__table__.c.name)).scalars().all() == ["b0"]
        contracts = set(c.execute(select(m.Event.__table__.c.contract)).scalars())
        assert late.points.address.lower() not in contracts
    # registered again on the new branch: rediscovered with its whole history
    net.tx(
        net.registry.functions.registerProgram(
            late.brand_id, late.points.address, late.pass_.address, net.op, "late"
        )
    )
    activity(net, rnd, 3)
    make_indexer().run(follow=False)
    assert_mirror_equals_chain(net, engine)


def test_reorg_deeper_than_window_stops(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    _setup(net, brands=1, rounds=5)
    rpc(net.w3, "anvil_mine", [hex(20)])
    make_indexer(window=8).run(follow=False)
    reorg(net, 12)
    with pytest.raises(ReorgTooDeep, match="deeper than the 8-block window"):
        make_indexer(window=8).run(follow=False)
