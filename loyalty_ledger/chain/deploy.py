"""Deploying the network (registry + forwarder) and brand programs; the deployment file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from loyalty_ledger.chain.artifacts import error_decoder, load_abi, load_artifact
from loyalty_ledger.chain.sender import Receipt, Sender
from loyalty_ledger.errors import InvalidInput, LedgerError, ProgramExists, UnknownProgram
from loyalty_ledger.validate import brand_id_bytes, checksum_address, printable_text

FORWARDER_NAME = "LoyaltyLedgerForwarder"
DEFAULT_EPOCH_SECONDS = 30 * 86_400
"""One expiry epoch: 30 days, so a validity of 12 epochs is about a year."""


@dataclass
class Program:
    """One brand's contracts."""

    brand_id: str
    points: str
    pass_: str
    admin: str
    block: int
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pass"] = data.pop("pass_")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Program:
        data = dict(data)
        data["pass_"] = data.pop("pass")
        return cls(**data)


@dataclass
class Deployment:
    """Addresses and start blocks of a network; the indexer reads this from the deployment file."""

    chain_id: int
    registry: str
    forwarder: str
    start_block: int
    programs: dict[str, Program] = field(default_factory=dict)
    exchange: str | None = None
    """The network's CoalitionExchange; None in deployments made before it existed."""

    def program(self, brand_id: str) -> Program:
        try:
            return self.programs[brand_id]
        except KeyError:
            raise UnknownProgram(brand_id, self.programs) from None

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "registry": self.registry,
            "forwarder": self.forwarder,
            "start_block": self.start_block,
            "programs": {k: p.to_json() for k, p in self.programs.items()},
            **({"exchange": self.exchange} if self.exchange else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        programs = {k: Program.from_json(p) for k, p in data.get("programs", {}).items()}
        return cls(
            chain_id=int(data["chain_id"]),
            registry=data["registry"],
            forwarder=data["forwarder"],
            start_block=int(data["start_block"]),
            programs=programs,
            exchange=data.get("exchange") or None,
        )

    def save(self, path: Path | str) -> None:
        """Write the deployment file atomically (the indexer may be reading it)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str) -> Deployment:
        path = Path(path)
        if not path.exists():
            raise LedgerError(f"no deployment file at {path}; run `loyalty deploy` first")
        return cls.from_json(json.loads(path.read_text()))


def _sender(w3: Web3, operator: LocalAccount | Sender, out_dir: Path | None) -> Sender:
    if isinstance(operator, Sender):
        return operator
    return Sender(w3, operator, decoder=error_decoder(out_dir))


def _deploy(sender: Sender, name: str, out_dir: Path | None, *args: Any) -> Receipt:
    art = load_artifact(name, out_dir)
    receipt = sender.deploy(art.bytecode, art.abi, *args)
    if not receipt.contract_address:
        raise LedgerError(f"deploying {name} returned no contract address")
    return receipt


def deploy_network(
    w3: Web3,
    operator: LocalAccount | Sender,
    *,
    exchange: bool = True,
    out_dir: Path | None = None,
) -> Deployment:
    """Deploy the forwarder, the member registry (with `operator` as the network operator) and,
    unless `exchange` is False, the coalition exchange."""
    sender = _sender(w3, operator, out_dir)
    fwd = _deploy(sender, "ERC2771Forwarder", out_dir, FORWARDER_NAME)
    reg = _deploy(sender, "MemberRegistry", out_dir, sender.address)
    deployment = Deployment(
        chain_id=w3.eth.chain_id,
        registry=str(reg.contract_address),
        forwarder=str(fwd.contract_address),
        start_block=min(fwd.block_number, reg.block_number),
    )
    if exchange:
        deploy_exchange(w3, sender, deployment, out_dir=out_dir)
    return deployment


def deploy_exchange(
    w3: Web3,
    operator: LocalAccount | Sender,
    deployment: Deployment,
    *,
    out_dir: Path | None = None,
) -> str:
    """Deploy the network's CoalitionExchange and set `deployment.exchange` (save it afterwards).

    Also upgrades a deployment made before the exchange existed; refuses a second one.
    """
    if deployment.exchange:
        raise LedgerError(f"the network has an exchange already at {deployment.exchange}")
    sender = _sender(w3, operator, out_dir)
    receipt = _deploy(
        sender, "CoalitionExchange", out_dir, deployment.registry, deployment.forwarder
    )
    deployment.exchange = str(receipt.contract_address)
    return deployment.exchange


def add_brand(
    w3: Web3,
    operator: LocalAccount | Sender,
    deployment: Deployment,
    *,
    brand_id: str,
    name: str,
    symbol: str,
    admin: str,
    tiers: list[str],
    epoch_length: int = DEFAULT_EPOCH_SECONDS,
    out_dir: Path | None = None,
) -> Program:
    """Deploy a brand's LoyaltyPoints + MembershipPass and register them in the registry.

    The program is added to `deployment.programs` (save the deployment afterwards).
    `epoch_length` is the seconds in one expiry epoch (fixed for the program's life); points
    never expire until the brand admin sets a validity.
    """
    bid = brand_id_bytes(brand_id)
    admin = checksum_address(admin)
    if not tiers or len(tiers) > 255:
        raise InvalidInput("a program needs 1 to 255 tier names")
    for tier in tiers:
        printable_text(tier, "a tier name")
    printable_text(name, "the brand name")
    printable_text(symbol, "the symbol")
    if epoch_length <= 0:
        raise InvalidInput("an expiry epoch lasts at least one second")
    registry = w3.eth.contract(
        address=checksum_address(deployment.registry), abi=load_abi("MemberRegistry", out_dir)
    )
    if brand_id in deployment.programs or _program_exists(registry, bid):
        raise ProgramExists(brand_id)
    sender = _sender(w3, operator, out_dir)
    fwd, reg = deployment.forwarder, deployment.registry
    points = _deploy(
        sender, "LoyaltyPoints", out_dir, name, symbol, bid, reg, fwd, admin, epoch_length
    )
    pass_ = _deploy(
        sender, "MembershipPass", out_dir, f"{name} Pass", f"{symbol}P", bid, reg, fwd, admin, tiers
    )
    sender.transact(
        registry.functions.registerProgram(
            bid, points.contract_address, pass_.contract_address, admin, name
        )
    )
    program = Program(
        brand_id=brand_id,
        points=str(points.contract_address),
        pass_=str(pass_.contract_address),
        admin=admin,
        block=points.block_number,
        name=name,
    )
    deployment.programs[brand_id] = program
    return program


def _program_exists(registry: Any, bid: bytes) -> bool:
    try:
        registry.functions.programOf(bid).call()
    except Exception:  # reverts RegistryUnknownProgram when unknown
        return False
    return True
