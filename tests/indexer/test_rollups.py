"""The rollups of the points history (ledger_month, gift_party) equal the history they summarise:
after random activity over several months, indexed in several runs, and after reorgs (the
journal rolls them back with the entries), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select

from loyalty_ledger.indexer.rollups import month_of
from loyalty_ledger.store import migrate
from loyalty_ledger.store import models as m
from loyalty_ledger.store.engine import alembic_config

from .netutil import Net, activity, member_addresses, reorg, rpc

pytestmark = [pytest.mark.chain]

ENTRY = m.LedgerEntry.__table__  # type: ignore[attr-defined]
MONTH = m.LedgerMonth.__table__  # type: ignore[attr-defined]
PARTY = m.GiftParty.__table__  # type: ignore[attr-defined]


def from_history(engine: Engine) -> tuple[dict[Any, tuple[int, int]], dict[Any, tuple[int, int]]]:
    """The rollups computed straight from ledger_entry (exact for any amount)."""
    months: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    parties: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    cols = (ENTRY.c.token, ENTRY.c.kind, ENTRY.c.account, ENTRY.c.counterparty, ENTRY.c.amount)
    with engine.connect() as conn:
        for token, kind, account, counterparty, amount, bt in conn.execute(
            select(*cols, ENTRY.c.block_time)
        ):
            if int(amount):
                row = months[(token, month_of(bt), kind)]
                row[0] += 1
                row[1] += int(amount)
            if kind == "gift":
                parties[(token, account)][0] += 1
                if counterparty is not None:
                    parties[(token, counterparty)][1] += 1
    return (
        {k: (n, a) for k, (n, a) in months.items()},
        {k: (s, r) for k, (s, r) in parties.items()},
    )


def stored(engine: Engine) -> tuple[dict[Any, tuple[int, int]], dict[Any, tuple[int, int]]]:
    with engine.connect() as conn:
        months = {
            (r.token, r.month, r.kind): (int(r.entries), int(r.amount))
            for r in conn.execute(select(MONTH))
        }
        parties = {
            (r.token, r.member): (int(r.sent), int(r.received)) for r in conn.execute(select(PARTY))
        }
    return months, parties


def assert_rollups_match(engine: Engine) -> tuple[dict[Any, Any], dict[Any, Any]]:
    want, got = from_history(engine), stored(engine)
    assert got[0] == want[0], "ledger_month differs from the history"
    assert got[1] == want[1], "gift_party differs from the history"
    return got


def _months(net: Net, rnd: random.Random, months: int, steps: int) -> None:
    """Activity spread over `months` calendar months (the node's clock moved on between)."""
    for _ in range(months):
        activity(net, rnd, steps)
        rpc(net.w3, "evm_increaseTime", [rnd.randint(29, 33) * 86400])
        rpc(net.w3, "evm_mine")


def _setup(net: Net, seed: int) -> random.Random:
    rnd = random.Random(seed)
    for i in range(2):
        net.add_brand(f"r{i}")
    net.register_members(member_addresses(30, seed) + net.w3.eth.accounts[1:4])
    return rnd


def test_rollups_equal_the_history_after_random_activity(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net, 5)
    _months(net, rnd, 3, 8)
    make_indexer().run(follow=False)
    first = assert_rollups_match(engine)
    assert len({k[1] for k in first[0]}) >= 3 and first[1], "several months and some gifts"
    _months(net, rnd, 2, 8)  # a second run folds into the rows the first wrote
    make_indexer(initial_range=2, max_range=5).run(follow=False)
    assert_rollups_match(engine)


@pytest.mark.parametrize(
    ("depth", "with_tx"),
    [(1, True), (1, False), (4, True)],
    ids=["one-block-changed", "event-removed", "depth4"],
)
def test_rollups_roll_back_with_a_reorg(net: Net, make_indexer, engine, depth, with_tx) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net, 9)
    _months(net, rnd, 2, 8)
    # The last blocks hold a gift and an issue; the reorg replaces them.
    b = net.brands[0]
    holder = net.w3.eth.accounts[1]
    net.tx(b.points.functions.issue(holder, 500, b"visit".ljust(32, b"\0"), b"r".ljust(32, b"\0")))
    net.tx(b.points.functions.gift(net.members[0], 40, "thanks"), holder)
    make_indexer().run(follow=False)
    before = assert_rollups_match(engine)
    reorg(net, depth, with_tx)
    make_indexer().run(follow=False)
    after = assert_rollups_match(engine)
    assert after != before  # the gift (at least) is gone, the reorg's issue counted
    gone = (b.points.address.lower(), holder.lower())
    assert after[1].get(gone, (0, 0))[0] == before[1][gone][0] - 1


def test_migration_fills_the_rollups_from_the_history(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    """A mirror indexed before 0010 gets its rollups from the history it holds already."""
    rnd = _setup(net, 13)
    _months(net, rnd, 2, 8)
    make_indexer().run(follow=False)
    indexed = assert_rollups_match(engine)
    cfg = alembic_config()
    steps = ((command.downgrade, "0009_insights_settings"), (command.upgrade, "0010_rollups"))
    for fn, rev in steps:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, rev)
    assert assert_rollups_match(engine) == indexed
    migrate(engine)  # and on to the head
