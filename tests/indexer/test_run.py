"""The entry points: run_indexer(settings, ...) for jobs, and the Typer command."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.cli.index import index_app
from loyalty_ledger.config import Settings
from loyalty_ledger.indexer import run_indexer

from .netutil import Follower, Net, assert_mirror_equals_chain, member_addresses

pytestmark = [pytest.mark.chain]


def test_run_indexer_follows_until_stopped(
    net: Net, anvil: Anvil, db_url: str, engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    b = net.add_brand("run")
    net.register_members(member_addresses(10))
    net.issue_batch(b, net.members, [1] * 10)
    settings = Settings(
        rpc_url=anvil.url,
        database_url=db_url,
        deployment_file=net.deployment_file(tmp_path / "dep.json"),
    )
    stop = threading.Event()
    t = threading.Thread(
        target=run_indexer,
        args=(settings,),
        kwargs={"follow": True, "stop_event": stop, "poll_interval": 0.02},
    )
    t.start()
    try:
        f = Follower(None, net, engine)
        net.issue_batch(b, net.members, [2] * 10)
        f.wait_synced()
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive()
    assert_mirror_equals_chain(net, engine)


def test_cli_index_command(net: Net, anvil: Anvil, db_url: str, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    b = net.add_brand("cli")
    net.register_members(member_addresses(5))
    net.issue_batch(b, net.members, [3] * 5)
    dep = net.deployment_file(tmp_path / "dep.json")
    res = CliRunner().invoke(
        index_app, ["--database", db_url, "--rpc-url", anvil.url, "--deployment", str(dep)]
    )
    assert res.exit_code == 0, res.output
    assert "indexed" in res.output
    assert_mirror_equals_chain(net, engine)
    res = CliRunner().invoke(
        index_app,
        [
            "--database",
            db_url,
            "--rpc-url",
            anvil.url,
            "--deployment",
            str(tmp_path / "missing.json"),
        ],
    )
    assert res.exit_code == 2
    assert "no deployment file" in res.output
