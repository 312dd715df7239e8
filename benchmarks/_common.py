"""Shared set-up for the benchmarks: a private anvil, a deployed network, funded accounts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from loyalty_ledger.anvil import Anvil
from loyalty_ledger.chain import Sender, connect
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.deploy import Deployment, Program, add_brand, deploy_network
from loyalty_ledger.ledger import register_members


@dataclass
class Bench:
    """A fresh network with one brand; `operator` also holds the brand's roles."""

    w3: Web3
    operator: Sender
    deployment: Deployment
    program: Program


def addresses(n: int, salt: str = "member") -> list[str]:
    """`n` distinct deterministic addresses (no keys needed to receive points)."""
    return [Web3.to_checksum_address(keccak(text=f"{salt}-{i}")[12:]) for i in range(n)]


def member_account(i: int) -> LocalAccount:
    """A deterministic keyed account for a member that must sign."""
    return Account.from_key(keccak(text=f"bench-member-key-{i}"))


def register_all(bench: Bench, members: list[str], chunk: int = 500) -> None:
    for start in range(0, len(members), chunk):
        part = members[start : start + chunk]
        register_members(sender=bench.operator, deployment=bench.deployment, members=part)


@contextmanager
def network(*, gas_limit: int = 30_000_000, extra: list[str] | None = None) -> Iterator[Bench]:
    """Start a private anvil (random port), deploy the network and one brand."""
    args = ["--gas-limit", str(gas_limit), "--silent", *(extra or [])]
    with Anvil(port=0, extra_args=args) as node:
        w3 = connect(node.url)
        operator = Sender(w3, ANVIL_DEV_KEYS[0])
        deployment = deploy_network(w3, operator)
        program = add_brand(
            w3,
            operator,
            deployment,
            brand_id="bench",
            name="Bench Points",
            symbol="BNCH",
            admin=operator.address,
            tiers=["silver", "gold"],
        )
        yield Bench(w3=w3, operator=operator, deployment=deployment, program=program)
