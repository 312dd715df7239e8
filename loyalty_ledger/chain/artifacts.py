"""Compiled contracts (`<dir>/<File>.sol/<Contract>.json`): the committed `artifacts/` while they
match the sources (see `compiled`), else forge's `out/`."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from loyalty_ledger.chain import compiled
from loyalty_ledger.chain.anvil import PROJECT_ROOT, foundry_binary
from loyalty_ledger.chain.revert import ErrorDecoder
from loyalty_ledger.errors import ArtifactMissing, LedgerError

# The contracts the network deploys, as (source file, contract name).
CONTRACTS: dict[str, str] = {
    "MemberRegistry": "MemberRegistry.sol",
    "LoyaltyPoints": "LoyaltyPoints.sol",
    "MembershipPass": "MembershipPass.sol",
    "ERC2771Forwarder": "ERC2771Forwarder.sol",
    "CoalitionExchange": "CoalitionExchange.sol",
}


@dataclass(frozen=True)
class Artifact:
    """ABI and bytecode of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


def default_out_dir() -> Path:
    """The committed artifacts when they were compiled from these sources, else forge's out/."""
    return compiled.ARTIFACTS_DIR if compiled.is_current() else PROJECT_ROOT / "out"


def artifact_path(name: str, out_dir: Path | None = None) -> Path:
    source = CONTRACTS.get(name, f"{name}.sol")
    return (out_dir or default_out_dir()) / source / f"{name}.json"


def load_artifact(name: str, out_dir: Path | None = None) -> Artifact:
    """Load `name` from the artifacts dir; ArtifactMissing names `forge build` when absent."""
    return _load(artifact_path(name, out_dir).resolve(), name)


@lru_cache(maxsize=64)
def _load(path: Path, name: str) -> Artifact:
    if not path.exists():
        raise ArtifactMissing(name, str(path))
    data = json.loads(path.read_text())
    bytecode = data.get("bytecode", {}).get("object", "")
    if not bytecode or bytecode == "0x":
        raise LedgerError(f"{name} at {path} has no bytecode (abstract contract or interface?)")
    return Artifact(
        name=name,
        abi=data["abi"],
        bytecode=bytecode,
        deployed_bytecode=data.get("deployedBytecode", {}).get("object", ""),
    )


def load_abi(name: str, out_dir: Path | None = None) -> list[dict[str, Any]]:
    return load_artifact(name, out_dir).abi


@lru_cache(maxsize=8)
def error_decoder(out_dir: Path | None = None) -> ErrorDecoder:
    """A decoder that knows the errors of every contract we deploy (those that are compiled)."""
    decoder = ErrorDecoder()
    for name in CONTRACTS:
        try:
            decoder.add_abi(load_abi(name, out_dir))
        except (ArtifactMissing, LedgerError):
            continue
    return decoder


def forge_build(root: Path = PROJECT_ROOT) -> None:
    """Run `forge build` in the project (compiles contracts/ into out/)."""
    proc = subprocess.run(
        [str(foundry_binary("forge", root)), "build"], cwd=root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise LedgerError(f"forge build failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
    _load.cache_clear()
    error_decoder.cache_clear()
