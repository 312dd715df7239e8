"""Compiled artifacts and the error decoder built from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak

from loyalty_ledger.chain.artifacts import CONTRACTS, error_decoder, load_artifact
from loyalty_ledger.errors import (
    AccountFrozen,
    ArtifactMissing,
    NotAMember,
    PassAlreadyHeld,
    PassNotTransferable,
)

ADDR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_missing_artifact_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissing, match="forge build"):
        load_artifact("LoyaltyPoints", tmp_path)


@pytest.mark.parametrize("name", list(CONTRACTS))
def test_artifacts_have_abi_and_bytecode(name: str) -> None:
    art = load_artifact(name)
    assert art.abi and art.bytecode.startswith("0x") and len(art.bytecode) > 100


@pytest.mark.parametrize(
    ("sig", "types", "args", "cls"),
    [
        ("PointsNotAMember(address)", ["address"], [ADDR], NotAMember),
        ("RegistryAccountFrozen(address)", ["address"], [ADDR], AccountFrozen),
        ("PassAlreadyHeld(address,uint256)", ["address", "uint256"], [ADDR, 3], PassAlreadyHeld),
        ("PassNotTransferable(uint256)", ["uint256"], [3], PassNotTransferable),
    ],
)
def test_decoder_knows_every_deployed_contract_error(
    sig: str, types: list[str], args: list[object], cls: type
) -> None:
    data = keccak(text=sig)[:4] + encode(types, args)
    assert type(error_decoder().decode(data)) is cls


def test_every_domain_error_of_the_interfaces_is_mapped() -> None:
    """Each custom error of our contracts decodes to a domain exception, never the fallback."""
    from loyalty_ledger.chain.revert import ERROR_MAP

    names = {
        item["name"]
        for name in ("MemberRegistry", "LoyaltyPoints", "MembershipPass")
        for item in load_artifact(name).abi
        if item["type"] == "error" and item["name"].startswith(("Points", "Pass", "Registry"))
    }
    assert names - set(ERROR_MAP) == set()
