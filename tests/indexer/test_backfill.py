"""Backfill: the mirror equals the chain after thousands of events across several brands."""

from __future__ import annotations

import random

import pytest

from .netutil import Net, assert_mirror_equals_chain, member_addresses

pytestmark = [pytest.mark.chain]


def test_backfill_equals_chain(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    rnd = random.Random(7)
    brands = [net.add_brand(f"brand{i}") for i in range(3)]
    net.register_members(member_addresses(150) + net.w3.eth.accounts[1:4])
    for b in brands * 2:
        for i in range(0, 150, 50):
            ms = net.members[i : i + 50]
            net.issue_batch(b, ms, [rnd.randint(1, 10**9) for _ in ms])
    activity(net, rnd, 20)
    late = net.add_brand("late")  # a program registered after activity started
    net.issue_batch(late, net.members[:40], [3] * 40)
    idx = make_indexer(initial_range=7)  # small ranges: many batches, programs found mid-way
    idx.run(follow=False)
    n = assert_mirror_equals_chain(net, engine)
    assert n > 2000
    assert idx.events == n
    # the history a customer pages through
    from loyalty_ledger.store import queries

    who = net.members[0]
    with engine.connect() as c:
        pages, before = [], None
        while True:
            page = queries.history(
                c, token=brands[0].points.address, account=who, before_id=before, limit=3
            )
            if not page:
                break
            pages += page
            before = page[-1]["id"]
        assert queries.as_of(c)[0] == net.w3.eth.block_number
        assert (
            queries.balance(c, token=brands[0].points.address, holder=who)
            == brands[0].points.functions.balanceOf(who).call()
        )
    assert pages and {p["kind"] for p in pages} <= {
        "issue",
        "redeem",
        "forfeit",
        "transfer",
        "gift",
        "recovery",
    }
    issued = sum(p["amount"] for p in pages if p["kind"] == "issue" and p["account"] == who.lower())
    assert issued > 0


from .netutil import activity  # noqa: E402
