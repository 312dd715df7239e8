"""Outbox fixtures: an anvil of its own, a network with brand acme (admin: dev key 1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment, add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings

OPERATOR_KEY, BRAND_KEY = ANVIL_DEV_KEYS[0], ANVIL_DEV_KEYS[1]
MEMBERS = [Account.create() for _ in range(20)]


@pytest.fixture(autouse=True)
def _chain_isolation() -> Iterator[None]:
    yield


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with Anvil(port=0) as n:
        yield n


@pytest.fixture(scope="module")
def net(node: Anvil, tmp_path_factory: pytest.TempPathFactory) -> tuple[Web3, Deployment, Path]:
    w3 = connect(node.url)
    op = Sender(w3, OPERATOR_KEY, decoder=error_decoder())
    dep = deploy_network(w3, op)
    brand = Account.from_key(BRAND_KEY)
    add_brand(
        w3, op, dep, brand_id="acme", name="A", symbol="A", admin=brand.address, tiers=["Basic"]
    )
    ledger.register_members(sender=op, deployment=dep, members=[m.address for m in MEMBERS])
    path = tmp_path_factory.mktemp("dep") / "deployment.json"
    dep.save(path)
    return w3, dep, path


def app_settings(node: Anvil, net: Any, tmp_path: Path, url: str, **over: Any) -> Settings:
    """Settings of an API on this module's chain and `url`, with the operator and brand keys."""
    return Settings(
        rpc_url=node.url,
        database_url=url,
        deployment_file=net[2],
        data_dir=tmp_path,
        operator_key=OPERATOR_KEY,
        brand_key=BRAND_KEY,
        _env_file=None,  # type: ignore[call-arg]
        **over,
    )
