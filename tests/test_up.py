"""The main job (`loyalty up` / `loyalty demo`): seed a fresh chain, reuse a live one."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import func, select
from web3 import Web3

from loyalty_ledger import auth, ledger
from loyalty_ledger.auth import accounts
from loyalty_ledger.chain.anvil import Anvil, free_port
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.config import get_settings
from loyalty_ledger.demo import access
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.ledger import passes
from loyalty_ledger.service.up import DemoScale, up
from loyalty_ledger.store import make_engine
from loyalty_ledger.store.models import Event, IndexerState

from .pg import fresh_schema


@pytest.mark.chain
def test_up_seeds_a_fresh_chain_then_reuses_it(tmp_path: Path) -> None:
    with Anvil(port=0) as node:
        settings = get_settings(
            rpc_url=node.url,
            data_dir=tmp_path,
            deployment_file=tmp_path / "deployment.json",
        )
        said: list[str] = []
        scale = DemoScale(members=30, months=2)
        assert up(settings, scale=scale, serve_api=False, say=said.append) == 0
        dep = Deployment.load(settings.deployment_file)
        assert len(dep.programs) >= 2
        assert any("/dashboard#brand=" in line for line in said)

        engine = make_engine(str(settings.database_url))
        with engine.connect() as conn:
            checkpoint = conn.execute(select(IndexerState.checkpoint_block)).scalar_one()
            events = conn.execute(select(func.count()).select_from(Event)).scalar_one()
        engine.dispose()
        assert checkpoint == Web3(Web3.HTTPProvider(node.url)).eth.block_number
        assert events > 30  # registrations, issues, passes, gifts, redemptions

        said.clear()
        assert up(settings, scale=scale, serve_api=False, say=said.append) == 0
        assert any("reusing" in line for line in said)
        assert Deployment.load(settings.deployment_file).registry == dep.registry

        with pytest.raises(LedgerError, match="already holds a network"):
            up(settings, scale=scale, fresh_only=True, serve_api=False, say=said.append)


def _stated(said: list[str]) -> dict[str, str]:
    """The dashboard links a run printed, by brand."""
    out = {}
    for line in said:
        if line.startswith("dashboard ("):
            brand = line[len("dashboard (") : line.index(")")]
            out[brand] = line.split("key=")[1]
    return out


@pytest.mark.chain
def test_every_run_prints_the_links_and_how_to_sign_in(tmp_path: Path) -> None:
    """A re-run prints the dashboards (same viewer keys, kept 0600 in the data dir) and the
    wallet again, and says which demo customer to sign in as; keys a new database no longer
    knows are replaced."""
    with Anvil(port=0) as node:
        settings = get_settings(
            rpc_url=node.url, data_dir=tmp_path, deployment_file=tmp_path / "deployment.json"
        )
        said: list[str] = []
        told: list[dict[str, Any]] = []
        scale = DemoScale(members=30, months=2)
        assert (
            up(settings, scale=scale, serve_api=False, say=said.append, announce=told.append) == 0
        )
        keys = _stated(said)
        assert set(keys) == {"coffee", "fashion"}
        assert any(line == "wallet: http://127.0.0.1:8000/wallet" for line in said)
        assert any("sign in to the wallet as a demo customer" in line for line in said)
        kept = access.access_file(tmp_path)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        # the printed customer is real: its key is the address, a member with that balance
        cust = told[0]["customer"]
        assert any(cust["private_key"] in line for line in said)
        assert Account.from_key(cust["private_key"]).address == cust["address"]
        dep = Deployment.load(settings.deployment_file)
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert ledger.member_status(w3=w3, deployment=dep, account=cust["address"]).is_member
        coffee = dep.program("coffee")
        assert ledger.balance_of(w3=w3, program=coffee, member=cust["address"]) == cust["points"]
        held = passes.pass_of(w3=w3, program=coffee, member=cust["address"])
        assert (held.tier_name if held else "no pass") == cust["tier"]
        assert told[0]["dashboards"]["coffee"].endswith(keys["coffee"])
        engine = make_engine(str(settings.database_url))
        for brand, key in keys.items():
            assert auth.authenticate_key(engine=engine, key=key).brand_id == brand
        # ... and how to sign in as them with no wallet: an email code to the demo address
        assert any(access.DEMO_EMAIL in line and "Email me a code" in line for line in said)
        demo = accounts.by_email(engine, access.DEMO_EMAIL)
        assert demo is not None and demo["address"] == cust["address"]

        said.clear()
        assert up(settings, scale=scale, serve_api=False, say=said.append) == 0
        assert any("reusing" in line for line in said)
        assert _stated(said) == keys  # the same links again
        assert any(cust["private_key"] in line for line in said)

        for key in keys.values():  # a database that no longer knows the keys
            auth.revoke_api_key(engine=engine, key_id=key.split("_")[1])
        said.clear()
        assert up(settings, scale=scale, serve_api=False, say=said.append) == 0
        fresh = _stated(said)
        assert set(fresh) == set(keys) and not set(fresh.values()) & set(keys.values())
        for brand, key in fresh.items():
            assert auth.authenticate_key(engine=engine, key=key).brand_id == brand
        assert json.loads(kept.read_text())["viewer_keys"] == fresh
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600

        kept.unlink()  # a network this data dir did not seed: links, no customer
        said.clear()
        assert up(settings, scale=scale, serve_api=False, say=said.append) == 0
        assert set(_stated(said)) == {"coffee", "fashion"}
        assert any("no demo customer's key is known" in line for line in said)
        engine.dispose()

        _main_job_json(settings, tmp_path)


def _main_job_json(settings: Any, tmp_path: Path) -> None:
    """`loyalty --json up` on the live network: progress on stderr (with the indexer's
    catch-up), the links as one JSON line on stdout, the API serving; SIGTERM stops it."""
    port = free_port()
    env = {
        **os.environ,
        "LOYALTY_RPC_URL": settings.rpc_url,
        "LOYALTY_DATA_DIR": str(tmp_path),
        "LOYALTY_DEPLOYMENT_FILE": str(settings.deployment_file),
        "LOYALTY_API_PORT": str(port),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalty_ledger", "up", "--json"],  # as run.sh passes it
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        links = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert links["api"] == f"http://127.0.0.1:{port}" and set(links["dashboards"]) == {
            "coffee",
            "fashion",
        }
        deadline = time.monotonic() + 60
        while not any("caught up" in line for line in err):
            assert time.monotonic() < deadline and proc.poll() is None, err
            time.sleep(0.2)
        health = httpx.get(f"{links['api']}/health", timeout=10)
        assert health.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def test_api_serve_json(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalty_ledger", "--json", "api", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert json.loads(line)["api"] == f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@pytest.mark.chain
def test_up_refuses_a_configured_database_that_mirrors_another_chain(tmp_path: Path) -> None:
    """A chain reset under a configured database cannot heal: the job stops before seeding."""
    with fresh_schema("upreset") as url:
        with Anvil(port=0) as node:
            settings = get_settings(
                rpc_url=node.url,
                data_dir=tmp_path,
                deployment_file=tmp_path / "deployment.json",
                database_url=url,
            )
            assert up(settings, scale=DemoScale(members=10, months=1), serve_api=False) == 0
        with Anvil(port=0) as fresh:  # a new chain: another genesis
            said: list[str] = []
            with pytest.raises(LedgerError, match="the chain was reset"):
                up(settings.model_copy(update={"rpc_url": fresh.url}), say=said.append)
            assert not any("simulating" in line for line in said)  # nothing seeded into it
