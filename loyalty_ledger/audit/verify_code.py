"""Is the code on chain the code in this repository?

Each deployed contract's runtime bytecode is compared with a fresh compile of the repository's
sources by py-solc-x through `scripts/solc` (independent of forge's `out/`), with the compiler
settings read from `foundry.toml`. Immutables are masked using the compiler's
`immutableReferences` (their values, which the constructor wrote, are reported); a trailing
CBOR metadata section is stripped should the deployed code carry one (our settings disable it).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rpc import Rpc
from .state import Finding

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Contract name -> source unit, as forge names them.
SOURCES: dict[str, str] = {
    "MemberRegistry": "contracts/MemberRegistry.sol",
    "LoyaltyPoints": "contracts/LoyaltyPoints.sol",
    "MembershipPass": "contracts/MembershipPass.sol",
    "CoalitionExchange": "contracts/CoalitionExchange.sol",
    "ERC2771Forwarder": "node_modules/@openzeppelin/contracts/metatx/ERC2771Forwarder.sol",
}


@dataclass(frozen=True, slots=True)
class Compiled:
    name: str
    runtime: bytes
    immutables: dict[str, list[tuple[int, int]]]  # ast id -> [(start, length)]


@dataclass(slots=True)
class CodeCheck:
    address: str
    contract: str
    ok: bool
    detail: str
    immutables: dict[str, list[str]] = field(default_factory=dict)
    metadata_stripped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "contract": self.contract,
            "ok": self.ok,
            "detail": self.detail,
            "immutables": self.immutables,
            "metadata_stripped": self.metadata_stripped,
        }


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


_CACHE: dict[str, dict[str, Compiled]] = {}


def compile_sources(
    sources: Mapping[str, str] | None = None,
    *,
    root: Path = PROJECT_ROOT,
    solc: Path | None = None,
) -> dict[str, Compiled]:
    """Compile `sources` (contract name -> source unit under `root`); cached by content."""
    import solcx  # imported late: only code verification needs it

    sources = dict(sources or SOURCES)
    settings = compiler_settings(root)
    contents = {unit: (root / unit).read_text() for unit in sources.values()}
    key = hashlib.sha256(
        json.dumps(
            [sorted(sources.items()), contents, settings, str(root)], sort_keys=True
        ).encode()
    ).hexdigest()
    if key in _CACHE:
        return _CACHE[key]
    sel: dict[str, dict[str, list[str]]] = {}
    for name, unit in sources.items():
        sel.setdefault(unit, {})[name] = [
            "evm.deployedBytecode.object",
            "evm.deployedBytecode.immutableReferences",
        ]
    std = {
        "language": "Solidity",
        "sources": {u: {"content": c} for u, c in contents.items()},
        "settings": {**settings, "outputSelection": sel},
    }
    out = solcx.compile_standard(
        std,
        solc_binary=str(solc or root / "scripts" / "solc"),
        base_path=str(root),
        allow_paths=[str(root)],
    )
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError(
            "compile failed: " + "; ".join(e.get("formattedMessage", "") for e in errors)
        )
    result: dict[str, Compiled] = {}
    for name, unit in sources.items():
        d = out["contracts"][unit][name]["evm"]["deployedBytecode"]
        imm = {
            k: [(int(r["start"]), int(r["length"])) for r in v]
            for k, v in d.get("immutableReferences", {}).items()
        }
        result[name] = Compiled(name, bytes.fromhex(d["object"]), imm)
    _CACHE[key] = result
    return result


def strip_cbor(code: bytes) -> tuple[bytes, bool]:
    """Drop a trailing CBOR metadata section (its length is in the last two bytes)."""
    if len(code) < 4:
        return code, False
    n = int.from_bytes(code[-2:], "big")
    start = len(code) - 2 - n
    if 0 < n < len(code) - 2 and 0xA1 <= code[start] <= 0xBF:
        return code[:start], True
    return code, False


def compare_code(address: str, compiled: Compiled, onchain: bytes) -> CodeCheck:
    """Compare one contract's runtime code with its compile, immutables masked."""
    expect = compiled.runtime
    code, stripped = onchain, False
    if len(code) != len(expect):
        code, stripped = strip_cbor(onchain)
        expect = strip_cbor(expect)[0] if stripped else expect
    if not code:
        return CodeCheck(address, compiled.name, False, "no code at this address")
    if len(code) != len(expect):
        return CodeCheck(
            address,
            compiled.name,
            False,
            f"runtime is {len(code)} bytes, the compile gives {len(expect)}",
        )
    masked = bytearray(code)
    values: dict[str, list[str]] = {}
    for ast_id, ranges in compiled.immutables.items():
        for start, length in ranges:
            values.setdefault(ast_id, []).append("0x" + code[start : start + length].hex())
            masked[start : start + length] = bytes(length)
    vals = {k: sorted(set(v)) for k, v in values.items()}
    if bytes(masked) != expect:
        first = next(i for i, (a, b) in enumerate(zip(masked, expect, strict=True)) if a != b)
        return CodeCheck(
            address,
            compiled.name,
            False,
            f"runtime differs from the compile at byte {first}",
            vals,
            stripped,
        )
    bad = [k for k, v in vals.items() if len(v) > 1]
    if bad:  # one immutable written with two values: the code was patched after deployment
        return CodeCheck(
            address,
            compiled.name,
            False,
            f"immutable(s) {bad} hold different values at their references",
            vals,
            stripped,
        )
    return CodeCheck(
        address, compiled.name, True, "matches the repository's sources", vals, stripped
    )


def verify_code(
    rpc: Rpc,
    contracts: Mapping[str, str],
    *,
    block: int | str = "latest",
    compiled: Mapping[str, Compiled] | None = None,
) -> tuple[list[CodeCheck], list[Finding]]:
    """Check each `address -> contract name` against a fresh compile."""
    comp = compiled or compile_sources()
    tag = hex(block) if isinstance(block, int) else block
    addrs = list(contracts)
    codes = rpc.batch([("eth_getCode", [a, tag]) for a in addrs])
    checks: list[CodeCheck] = []
    findings: list[Finding] = []
    for addr, raw in zip(addrs, codes, strict=True):
        name = contracts[addr]
        onchain = bytes.fromhex(raw[2:]) if isinstance(raw, str) else b""
        chk = compare_code(addr, comp[name], onchain)
        checks.append(chk)
        if not chk.ok:
            findings.append(Finding("code", "bytecode-mismatch", f"{name}:{addr}", chk.detail))
    return checks, findings
