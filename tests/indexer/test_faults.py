"""A node that fails: 429 / 5xx / hangs / resets / duplicate answers, stopped and restarted,
reset to another chain; empty blocks; the same range twice; one writer per database."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from web3 import Web3

from loyalty_ledger.chain.anvil import Anvil, free_port
from loyalty_ledger.indexer import ChainMismatch, Indexer, IndexerOptions
from loyalty_ledger.indexer.decode import decode_logs
from loyalty_ledger.indexer.sink import Sink
from loyalty_ledger.store import WriterLock
from loyalty_ledger.store import models as m

from .faultproxy import FaultProxy
from .netutil import (
    Follower,
    Net,
    activity,
    all_logs,
    assert_mirror_equals_chain,
    deploy_net,
    member_addresses,
    reorg,
    rpc,
)

pytestmark = [pytest.mark.chain]


def _setup(net: Net, rounds: int = 12) -> random.Random:
    rnd = random.Random(11)
    for i in range(2):
        net.add_brand(f"f{i}")
    net.register_members(member_addresses(30) + net.w3.eth.accounts[1:4])
    activity(net, rnd, rounds)
    return rnd


def test_faulty_node_retries_without_loss(net: Net, anvil: Anvil, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    rnd = _setup(net)
    with FaultProxy(anvil.url, rate=0.3, seed=5, hang=1.0) as proxy:
        idx = make_indexer(rpc_url=proxy.url, rpc_timeout=0.4, initial_range=4)
        idx.run(follow=False)
        assert_mirror_equals_chain(net, engine)
        with Follower(make_indexer(rpc_url=proxy.url, rpc_timeout=0.4), net, engine) as f:
            activity(net, rnd, 6)
            reorg(net, 2)
            f.wait_synced(60)
            assert_mirror_equals_chain(net, engine)
        assert set(proxy.injected) >= {"429", "hang", "reset", "dup"}
        assert idx.rpc.retries > 0


def test_same_range_delivered_twice(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    _setup(net, rounds=6)
    make_indexer().run(follow=False)
    before = assert_mirror_equals_chain(net, engine)
    sink = Sink(engine, chain_id=net.w3.eth.chain_id)
    st = sink.state()
    assert st is not None
    events = decode_logs(all_logs(net, st["checkpoint_block"]))
    for _ in range(2):
        new = sink.write_batch(
            events,
            [],
            to_block=st["checkpoint_block"],
            to_hash=st["checkpoint_hash"],
            floor=0,
            checkpoint=st["checkpoint_block"],
        )
        assert new == 0
    assert assert_mirror_equals_chain(net, engine) == before
    # even told that nothing is stored (an old checkpoint), nothing is applied twice
    new = sink.write_batch(
        events,
        [],
        to_block=st["checkpoint_block"],
        to_hash=st["checkpoint_hash"],
        floor=0,
        checkpoint=net.start_block - 1,
    )
    assert new == 0
    assert assert_mirror_equals_chain(net, engine) == before


def test_500_empty_blocks_advance_checkpoint(net: Net, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    _setup(net, rounds=3)
    rpc(net.w3, "anvil_mine", [hex(500)])
    make_indexer(initial_range=50).run(follow=False)
    assert_mirror_equals_chain(net, engine)
    with Follower(make_indexer(), net, engine) as f:
        rpc(net.w3, "anvil_mine", [hex(500)])
        assert f.wait_synced() == net.w3.eth.block_number


def test_reset_chain_is_refused(net: Net, make_indexer, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _setup(net, rounds=2)
    make_indexer().run(follow=False)
    with Anvil(port=0, extra_args=["--timestamp", "1000"]) as other:
        w3 = Web3(Web3.HTTPProvider(other.url))
        net2 = deploy_net(w3)  # same deployer and nonces: the same registry address
        assert net2.registry.address == net.registry.address
        opts = IndexerOptions.from_deployment(
            net2.deployment_file(tmp_path / "other.json"),
            rpc_url=other.url,
            database_url=db_url,
            progress=False,
        )
        with pytest.raises(ChainMismatch, match="reset or swapped"):
            Indexer(opts).run(follow=False)


def test_node_stopped_and_restarted(db_url: str, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    state = str(tmp_path / "anvil-state.json")
    node = Anvil(port=port, extra_args=["--state", state]).start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        net = deploy_net(w3)
        rnd = _setup(net, rounds=4)
        opts = IndexerOptions.from_deployment(
            net.deployment_file(tmp_path / "dep.json"),
            rpc_url=node.url,
            database_url=db_url,
            progress=False,
            rpc_timeout=0.5,
            poll_interval=0.02,
        )
        with Follower(Indexer(opts), net, engine) as f:
            f.wait_synced()
            node.stop()
            time.sleep(1.0)  # the indexer retries meanwhile
            node = Anvil(port=port, extra_args=["--state", state]).start()
            activity(net, rnd, 4)
            f.wait_synced(30)
            assert_mirror_equals_chain(net, engine)
            assert f.idx.rpc.retries > 0
    finally:
        node.stop()


def test_second_indexer_waits_for_the_lock(net: Net, make_indexer, engine, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _setup(net, rounds=2)
    lock = WriterLock(db_url)
    assert lock.acquire()
    idx = make_indexer()
    t = threading.Thread(target=idx.run, kwargs={"follow": False}, daemon=True)
    t.start()
    time.sleep(1.0)
    assert t.is_alive()  # waiting
    with engine.connect() as c:
        try:
            state = c.execute(select(m.IndexerState.__table__)).first()
        except DBAPIError:
            state = None  # not even migrated: it has not started
    assert state is None  # the waiting indexer wrote nothing
    lock.release()
    t.join(30)
    assert not t.is_alive()
    assert_mirror_equals_chain(net, engine)


def test_lagging_node_is_waited_for(net: Net, anvil: Anvil, make_indexer, engine) -> None:  # type: ignore[no-untyped-def]
    """A node whose head is below the checkpoint but whose hashes match: wait, do not roll back."""
    rnd = _setup(net, rounds=3)
    with (
        FaultProxy(anvil.url) as proxy,
        Follower(make_indexer(rpc_url=proxy.url), net, engine) as f,
    ):
        cp = f.wait_synced()
        before = assert_mirror_equals_chain(net, engine)
        proxy.lag_head = cp - 5
        time.sleep(0.5)
        assert f.checkpoint()[0] == cp
        assert assert_mirror_equals_chain(net, engine) == before
        proxy.lag_head = None
        activity(net, rnd, 3)
        f.wait_synced()
        assert_mirror_equals_chain(net, engine)
