"""Deploying the network and brand programs; the deployment file."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Deployment, add_brand
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import InvalidAddress, InvalidInput, ProgramExists, Unauthorized
from loyalty_ledger.validate import brand_id_bytes

from .conftest import ACME_ADMIN, ACME_TIERS, OPERATOR

pytestmark = pytest.mark.chain


def test_network_and_programs_on_chain(w3: Web3, network: Deployment) -> None:
    assert network.chain_id == 31337
    assert 0 < network.start_block <= network.programs["acme"].block
    reg = contracts.registry(w3, network)
    assert reg.functions.programCount().call() == 2
    acme = network.program("acme")
    assert reg.functions.programOf(brand_id_bytes("acme")).call() == [acme.points, acme.pass_]
    points, passes = contracts.points(w3, acme), contracts.passes(w3, acme)
    assert points.functions.brandId().call() == brand_id_bytes("acme")
    assert points.functions.decimals().call() == 0
    assert points.functions.isTrustedForwarder(network.forwarder).call()
    assert passes.functions.tierCount().call() == len(ACME_TIERS)
    assert acme.admin == ACME_ADMIN.address
    role = contracts.role_id("issuer")
    assert points.functions.hasRole(role, ACME_ADMIN.address).call()
    assert not points.functions.hasRole(role, OPERATOR.address).call()
    assert reg.functions.hasRole(contracts.role_id("operator"), OPERATOR.address).call()


def test_deployment_file_round_trip(network: Deployment, tmp_path: Path) -> None:
    path = tmp_path / "deployments" / "local.json"
    network.save(path)
    loaded = Deployment.load(path)
    assert loaded == network
    assert '"pass"' in path.read_text()


def test_duplicate_brand_rejected(
    w3: Web3, network: Deployment, operator: Sender, unchanged
) -> None:
    with unchanged(), pytest.raises(ProgramExists):
        add_brand(
            w3,
            operator,
            network,
            brand_id="acme",
            name="X",
            symbol="X",
            admin=ACME_ADMIN.address,
            tiers=["A"],
        )
    # Also when this deployment object does not know it, the registry does.
    copy = Deployment.from_json(network.to_json())
    del copy.programs["acme"]
    with unchanged(), pytest.raises(ProgramExists):
        add_brand(
            w3,
            operator,
            copy,
            brand_id="acme",
            name="X",
            symbol="X",
            admin=ACME_ADMIN.address,
            tiers=["A"],
        )


def test_bad_brand_input(w3: Web3, network: Deployment, operator: Sender, unchanged) -> None:
    with unchanged():
        with pytest.raises(InvalidInput):
            add_brand(
                w3,
                operator,
                network,
                brand_id="no spaces",
                name="X",
                symbol="X",
                admin=ACME_ADMIN.address,
                tiers=["A"],
            )
        with pytest.raises(InvalidInput):
            add_brand(
                w3,
                operator,
                network,
                brand_id="new",
                name="X",
                symbol="X",
                admin=ACME_ADMIN.address,
                tiers=[],
            )
        with pytest.raises(InvalidAddress):
            add_brand(
                w3,
                operator,
                network,
                brand_id="new",
                name="X",
                symbol="X",
                admin="0x1234",
                tiers=["A"],
            )


def test_only_operator_adds_brands(w3: Web3, network: Deployment, acme_admin: Sender) -> None:
    copy = Deployment.from_json(network.to_json())
    with pytest.raises(Unauthorized):
        add_brand(
            w3,
            acme_admin,
            copy,
            brand_id="rogue",
            name="R",
            symbol="R",
            admin=ACME_ADMIN.address,
            tiers=["A"],
        )
    assert "rogue" not in network.programs
