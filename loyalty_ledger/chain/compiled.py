"""The compiled contracts the Python side deploys, committed in `artifacts/` with a digest of the
sources and compiler settings they came from, so that a fresh checkout needs no `forge build`.

`is_current()` says whether the committed set was compiled from this checkout's sources
(`artifacts.default_out_dir` uses it when it was, forge's `out/` otherwise). `write_artifacts()`
recompiles the deployed contracts with solc-js behind `scripts/solc` and rewrites the set:
`python -m loyalty_ledger.chain.compiled --write`; `--check` exits 1 when the set is stale.
Standard library only at import time: `scripts/setup.sh` runs the check before anything else.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = PROJECT_ROOT / "artifacts"
MANIFEST = "manifest.json"

# Deployed contract -> its source unit (the forwarder is OpenZeppelin's, compiled as is).
SOURCES: dict[str, str] = {
    "MemberRegistry": "contracts/MemberRegistry.sol",
    "LoyaltyPoints": "contracts/LoyaltyPoints.sol",
    "MembershipPass": "contracts/MembershipPass.sol",
    "ERC2771Forwarder": "node_modules/@openzeppelin/contracts/metatx/ERC2771Forwarder.sol",
    "CoalitionExchange": "contracts/CoalitionExchange.sol",
}
# npm packages whose exact tarball (package-lock integrity) shapes the bytecode.
PACKAGES = ("@openzeppelin/contracts", "solc")
# foundry.toml keys of the default profile that do not change what the compiler emits.
NOT_COMPILER = frozenset({"test", "script", "out", "cache_path", "gas_reports", "offline"})


def source_inputs(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """What the committed bytecode depends on: our sources, the pinned packages, the settings."""
    contracts = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "contracts").rglob("*.sol"))
    }
    lock = json.loads((root / "package-lock.json").read_text())["packages"]
    packages = {}
    for name in PACKAGES:
        entry = lock.get(f"node_modules/{name}", {})
        packages[name] = f"{entry.get('version')} {entry.get('integrity')}"
    profile = tomllib.loads((root / "foundry.toml").read_text())["profile"]["default"]
    settings = {k: v for k, v in sorted(profile.items()) if k not in NOT_COMPILER}
    return {"contracts": contracts, "packages": packages, "profile": settings}


def digest_of(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def read_manifest(out_dir: Path = ARTIFACTS_DIR) -> dict[str, Any] | None:
    path = out_dir / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def stale_inputs(root: Path = PROJECT_ROOT, out_dir: Path = ARTIFACTS_DIR) -> list[str]:
    """The inputs that changed since the committed set was compiled ([] when it is current)."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        return [f"no {MANIFEST} in {out_dir}"]
    now = source_inputs(root)
    if manifest.get("digest") == digest_of(now):
        return []
    then = manifest.get("inputs", {})
    changed = []
    for group in ("contracts", "packages", "profile"):
        old, new = then.get(group, {}), now[group]
        keys = sorted(set(old) | set(new))
        changed += [f"{group}: {k}" for k in keys if old.get(k) != new.get(k)]
    return changed or ["the manifest's digest"]


@lru_cache(maxsize=4)
def is_current(root: Path = PROJECT_ROOT, out_dir: Path = ARTIFACTS_DIR) -> bool:
    """Whether the committed set matches the sources (no sources at all: trust the set)."""
    if not (out_dir / MANIFEST).exists():
        return False
    if not (root / "contracts").is_dir() or not (root / "package-lock.json").exists():
        return True  # an installed package without the sources: the set is all there is
    return not stale_inputs(root, out_dir)


def compiler_settings(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """Standard-JSON settings equal to foundry.toml's default profile."""
    prof = tomllib.loads((root / "foundry.toml").read_text())["profile"]["default"]
    return {
        "optimizer": {
            "enabled": bool(prof.get("optimizer", False)),
            "runs": int(prof.get("optimizer_runs", 200)),
        },
        "evmVersion": prof.get("evm_version", "cancun"),
        "viaIR": bool(prof.get("via_ir", False)),
        "metadata": {
            "bytecodeHash": prof.get("bytecode_hash", "ipfs"),
            "appendCBOR": bool(prof.get("cbor_metadata", True)),
        },
        "remappings": list(prof.get("remappings", [])),
    }


def compile_deployed(root: Path = PROJECT_ROOT) -> dict[str, dict[str, Any]]:
    """Compile the deployed contracts from source: name -> {abi, bytecode, deployedBytecode}."""
    import solcx  # only a rebuild needs it

    sel: dict[str, dict[str, list[str]]] = {}
    for name, unit in SOURCES.items():
        sel.setdefault(unit, {})[name] = [
            "abi",
            "evm.bytecode.object",
            "evm.deployedBytecode.object",
        ]
    std = {
        "language": "Solidity",
        "sources": {u: {"content": (root / u).read_text()} for u in sel},
        "settings": {**compiler_settings(root), "outputSelection": sel},
    }
    out = solcx.compile_standard(
        std,
        solc_binary=str(root / "scripts" / "solc"),
        base_path=str(root),
        allow_paths=[str(root)],
    )
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("compile failed: " + "; ".join(e["formattedMessage"] for e in errors))
    result = {}
    for name, unit in SOURCES.items():
        c = out["contracts"][unit][name]
        result[name] = {
            "abi": c["abi"],
            "bytecode": {"object": "0x" + c["evm"]["bytecode"]["object"]},
            "deployedBytecode": {"object": "0x" + c["evm"]["deployedBytecode"]["object"]},
        }
    return result


def artifact_file(out_dir: Path, name: str) -> Path:
    """Where `name` lives: forge's layout, `<File>.sol/<Name>.json`."""
    return out_dir / f"{Path(SOURCES[name]).name}" / f"{name}.json"


def write_artifacts(root: Path = PROJECT_ROOT, out_dir: Path = ARTIFACTS_DIR) -> dict[str, Any]:
    """Recompile the deployed contracts and write them with their manifest; returns it."""
    compiled = compile_deployed(root)
    for name, art in compiled.items():
        path = artifact_file(out_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(art, indent=1) + "\n")
    inputs = source_inputs(root)
    manifest = {
        "about": "ABI and bytecode of the deployed contracts; regenerate with "
        "`scripts/artifacts` after changing contracts/ (a test fails while they are stale)",
        "digest": digest_of(inputs),
        "settings": compiler_settings(root),
        "contracts": {
            n: artifact_file(out_dir, n).relative_to(out_dir).as_posix() for n in compiled
        },
        "inputs": inputs,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    is_current.cache_clear()
    return manifest


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        manifest = write_artifacts()
        n, digest = len(manifest["contracts"]), manifest["digest"][:12]
        print(f"wrote {n} contracts to {ARTIFACTS_DIR} (sources digest {digest})")
        return 0
    if argv == ["--check"]:
        changed = stale_inputs()
        if changed:
            print("committed artifacts are stale: " + ", ".join(changed[:5]))
            return 1
        print("committed artifacts match the sources")
        return 0
    print("usage: python -m loyalty_ledger.chain.compiled --check | --write", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
