"""Point expiry and the coalition exchange on the real contracts: a 3-epoch policy, issues across
epochs, transfers, gifts, redemptions and transferAtEpoch, time moved past expiries; the mirror's
balances equal balanceOf, its live lots lotsOf, expired lots stay with their amounts, and the
clock is the contract's; through a restart, SIGKILLs, a reorg across an epoch boundary, and an
exchange's whole lifecycle."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from web3 import Web3

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.expiry import PERMANENT
from loyalty_ledger.indexer import ChainMismatch, Indexer, IndexerOptions
from loyalty_ledger.store import models as m
from loyalty_ledger.store import queries

from .expiry_net import (
    ACME,
    ALICE,
    BETA,
    BOB,
    CAROL,
    DAVE,
    EPOCH,
    OPERATOR,
    XNet,
    assert_lots_equal_chain,
    build,
    open_exchange,
    require_artifacts,
)
from .netutil import Follower, assert_mirror_equals_chain, rpc

pytestmark = [pytest.mark.chain]


@pytest.fixture
def x(w3: Web3, tmp_path: Path) -> XNet:
    require_artifacts()
    return build(w3, tmp_path)


def _opts(anvil: Anvil, db_url: str, tmp_path: Path, **kw: object) -> IndexerOptions:
    return IndexerOptions.from_deployment(
        tmp_path / "deployment.json",
        rpc_url=anvil.url,
        database_url=db_url,
        progress=False,
        rpc_timeout=5.0,
        poll_interval=0.02,
        **kw,
    )


def _index(anvil: Anvil, db_url: str, tmp_path: Path, **kw: object) -> Indexer:
    idx = Indexer(_opts(anvil, db_url, tmp_path, **kw))
    idx.run(follow=False)
    return idx


def _latest_lot(x: XNet, who: str) -> int:
    book = x.book(x.acme)
    held = book.holding(who.lower())
    return max(k for k in held.lots if k != PERMANENT)


def story_before_expiry(x: XNet) -> None:
    """Permanent points, then a 3-epoch policy; lots of three epochs, spent soonest-first."""
    a, adm = x.acme, ACME.address
    x.issue(a, adm, ALICE.address, 1000)  # before any policy: never expires
    x.policy(a, adm, 3)
    x.issue(a, adm, ALICE.address, 500)
    x.issue(a, adm, BOB.address, 300)
    x.wait(EPOCH)
    x.issue(a, adm, ALICE.address, 200)
    x.transfer(a, ALICE.address, CAROL.address, 600)  # 500 of the first lot, 100 of the second
    x.gift(a, ALICE.address, BOB.address, 50)
    x.redeem(a, BOB.address, 100)
    x.wait(EPOCH)
    x.issue(a, adm, CAROL.address, 400)
    x.transfer_at(a, CAROL.address, DAVE.address, _latest_lot(x, CAROL.address), 70)


def story_after_expiry(x: XNet) -> None:
    """The first lots expire; spending goes on around them; more expire later."""
    a = x.acme
    x.wait(EPOCH + EPOCH // 2)
    x.redeem(a, ALICE.address, 10)
    x.forfeit(a, ACME.address, BOB.address, 5)
    x.transfer(a, CAROL.address, ALICE.address, 100)
    x.wait(2 * EPOCH)
    x.issue(a, ACME.address, DAVE.address, 9)


def test_lots_mirror_the_chain(
    x: XNet, anvil: Anvil, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    story_before_expiry(x)
    _index(anvil, db_url, tmp_path)
    assert_lots_equal_chain(x, engine)
    assert_mirror_equals_chain(x.net, engine)
    story_after_expiry(x)
    _index(anvil, db_url, tmp_path)  # a second run: the restart carries on from the store
    assert_lots_equal_chain(x, engine)
    assert_mirror_equals_chain(x.net, engine)
    tok = x.acme.address.lower()
    with engine.connect() as c:
        expired = queries.expired_in(c, tok, 0, 2**62)
        st = queries.expiry_policy(c, tok)
        lots = c.execute(select(m.PointLot.__table__)).mappings().all()  # type: ignore[attr-defined]
    book = x.book(x.acme)
    head_time = x.w3.eth.get_block("latest")["timestamp"]
    assert expired == book.expired_total(head_time) > 0
    assert st is not None and st["validity_epochs"] == 3 and st["epoch_length"] == EPOCH
    assert any(r["expiry_epoch"] <= st["swept_epoch"] for r in lots), "no expired lot kept"


def test_reorg_across_an_epoch_boundary(
    x: XNet, anvil: Anvil, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Mirror past an epoch boundary, then the chain reverts to before it: lots, balances and
    swept_epoch come back (anvil snapshot/revert; the new branch stays in the older epoch)."""
    story_before_expiry(x)
    snap = rpc(x.w3, "evm_snapshot")
    saved = copy.deepcopy(x.books)
    _index(anvil, db_url, tmp_path)
    story_after_expiry(x)
    _index(anvil, db_url, tmp_path)
    assert_lots_equal_chain(x, engine)
    tok = x.acme.address.lower()
    with engine.connect() as c:
        swept_after = queries.expiry_policy(c, tok)["swept_epoch"]  # type: ignore[index]
    head = x.w3.eth.block_number
    assert rpc(x.w3, "evm_revert", [snap])
    x.books = saved
    while x.w3.eth.block_number <= head:  # a longer branch, no time jump
        x.issue(x.acme, ACME.address, DAVE.address, 7)
    idx = _index(anvil, db_url, tmp_path)
    assert idx.events > 0
    assert_lots_equal_chain(x, engine)
    assert_mirror_equals_chain(x.net, engine)
    with engine.connect() as c:
        swept_now = queries.expiry_policy(c, tok)["swept_epoch"]  # type: ignore[index]
    assert swept_now < swept_after, "swept_epoch was not rolled back"


def _child(opts: IndexerOptions) -> None:
    try:
        Indexer(opts).run(follow=True)
    finally:
        os._exit(1)


def test_sigkill_mid_way_then_resume(
    x: XNet, anvil: Anvil, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Killed (SIGKILL) a few milliseconds after each resumed backfill first commits, again and
    again, then resumed to the head: the same lots, balances and clock as the chain."""
    story_before_expiry(x)
    story_after_expiry(x)
    for i in range(12):  # more blocks, so a one-block-a-batch backfill takes a while
        x.issue(x.acme, ACME.address, [ALICE, BOB, CAROL, DAVE][i % 4].address, 3 + i)
        rpc(x.w3, "anvil_mine", [hex(4)])
        if i % 4 == 3:
            x.wait(EPOCH // 2)
    rnd = random.Random(7)
    ctx = multiprocessing.get_context("fork")
    opts = _opts(anvil, db_url, tmp_path, initial_range=1, max_range=1)
    f = Follower(None, x.net, engine)
    head = x.w3.eth.block_number
    mid = 0
    for _ in range(8):
        before = f.checkpoint()[0]
        proc = ctx.Process(target=_child, args=(opts,), daemon=True)
        proc.start()
        deadline = time.monotonic() + 20
        while f.checkpoint()[0] <= before and time.monotonic() < deadline:
            time.sleep(0.002)  # until this run has committed a batch
        time.sleep(rnd.uniform(0.0, 0.03))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(5)
        now = f.checkpoint()[0]
        assert now > before, "the resumed indexer made no progress"
        mid += now < head
        if x.w3.eth.get_code(x.net.registry.address, block_identifier=now):
            assert_mirror_equals_chain(x.net, engine)  # balances = balanceOf at the checkpoint
        if now >= head:
            break
    assert mid >= 3, "too few kills landed inside the backfill"
    _index(anvil, db_url, tmp_path)
    assert_lots_equal_chain(x, engine)
    assert_mirror_equals_chain(x.net, engine)


def test_exchange_lifecycle_and_swaps(
    x: XNet, anvil: Anvil, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    a, b = x.acme, x.beta
    x.policy(a, ACME.address, 3)
    x.issue(a, ACME.address, ALICE.address, 2000)
    x.issue(a, ACME.address, CAROL.address, 1000)
    xid = open_exchange(x)
    _index(anvil, db_url, tmp_path)  # the exchange registered and opened, no swap yet
    assert_lots_equal_chain(x, engine)
    x.swap(xid, ALICE.address, 250)
    xch = x.exchange.functions
    x.send(xch.pause(xid), OPERATOR.address)
    x.send(xch.pause(xid), BETA.address)
    x.send(xch.unpause(xid), OPERATOR.address)
    x.send(xch.unpause(xid), BETA.address)
    x.policy(b, BETA.address, 2)  # swapped-in beta points now expire too
    x.swap(xid, CAROL.address, 101)  # 80 out for 100 burned: rounding never creates points
    x.send(xch.pause(xid), ACME.address)
    pending = xch.exchangeCount().call()
    x.send(
        xch.registerExchange(b"beta".ljust(32, b"\0"), b"acme".ljust(32, b"\0"), 1, 1, 5, 50),
        OPERATOR.address,
    )
    x.wait(3 * EPOCH)
    _index(anvil, db_url, tmp_path)
    assert_lots_equal_chain(x, engine)
    assert_mirror_equals_chain(x.net, engine)
    lt = m.LedgerEntry.__table__  # type: ignore[attr-defined]
    with engine.connect() as c:
        swaps = [
            (r.kind, r.token, r.account, r.amount, r.ref, r.by)
            for r in c.execute(
                select(lt).where(lt.c.kind.in_(["swap_in", "swap_out"])).order_by(lt.c.id)
            )
        ]
        rows = {r["id"]: r for r in queries.exchanges(c)}
    ref = "0x" + xid.to_bytes(32, "big").hex()
    xaddr = x.exchange.address.lower()
    logs = x.exchange.events.Swapped().get_logs(from_block=0)
    want = []
    for lg in logs:
        mbr = lg.args.member.lower()
        want += [
            ("swap_out", a.address.lower(), mbr, lg.args.amountIn, ref, xaddr),
            ("swap_in", b.address.lower(), mbr, lg.args.amountOut, ref, None),
        ]
    assert [(w[0], w[3]) for w in want] == [
        ("swap_out", 250),
        ("swap_in", 200),
        ("swap_out", 100),
        ("swap_in", 80),
    ]
    assert swaps == want
    assert rows[xid]["issued"] == 280 and rows[xid]["paused_from"] is True
    assert rows[pending]["opened_block"] is None and not rows[pending]["approved_from"]


def test_exchange_configured_after_the_mirror_started(
    x: XNet, anvil: Anvil, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """A deployment file that gains its exchange later: the exchange's past events are adopted
    and the burns it made become swap_out; another exchange address is refused."""
    dep_file = tmp_path / "deployment.json"
    full = json.loads(dep_file.read_text())
    x.issue(x.acme, ACME.address, ALICE.address, 500)
    xid = open_exchange(x)
    x.swap(xid, ALICE.address, 100)
    dep_file.write_text(json.dumps({k: v for k, v in full.items() if k != "exchange"}))
    _index(anvil, db_url, tmp_path)
    lt = m.LedgerEntry.__table__  # type: ignore[attr-defined]
    with engine.connect() as c:
        kinds = list(c.execute(select(lt.c.kind).order_by(lt.c.id)).scalars())
        assert queries.exchanges(c) == []
    assert kinds == ["issue", "redeem", "swap_in"]
    dep_file.write_text(json.dumps(full))
    x.swap(xid, ALICE.address, 100)
    _index(anvil, db_url, tmp_path)
    with engine.connect() as c:
        kinds = list(c.execute(select(lt.c.kind).order_by(lt.c.id)).scalars())
    assert kinds == ["issue", "swap_out", "swap_in", "swap_out", "swap_in"]
    assert_lots_equal_chain(x, engine)
    assert_mirror_equals_chain(x.net, engine)
    dep_file.write_text(json.dumps(full | {"exchange": "0x" + "ee" * 20}))
    with pytest.raises(ChainMismatch, match="exchange"):
        _index(anvil, db_url, tmp_path)
