"""The main job (`loyalty up` / `loyalty demo`): seed a fresh chain, reuse a live one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from web3 import Web3

from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.deploy import Deployment
from loyalty_ledger.config import get_settings
from loyalty_ledger.errors import LedgerError
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
