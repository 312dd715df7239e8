"""The committed artifacts/ (what a fresh checkout deploys without `forge build`) cannot go stale:
their digest matches the sources, their ABI and bytecode equal a fresh compile, and a changed
source, package or compiler setting sends the Python side back to forge's out/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from loyalty_ledger.chain import artifacts, compiled

ROOT = compiled.PROJECT_ROOT


def _key(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True)


def test_committed_artifacts_match_the_sources() -> None:
    stale = compiled.stale_inputs()
    assert stale == [], f"artifacts/ is stale ({stale}): run scripts/artifacts and commit it"
    assert compiled.is_current()
    assert artifacts.default_out_dir() == compiled.ARTIFACTS_DIR  # no forge build needed


def test_committed_artifacts_equal_a_fresh_compile() -> None:
    """Compiled here from contracts/ (solc-js, foundry.toml's settings), not read from out/."""
    fresh = compiled.compile_deployed()
    assert set(fresh) == set(compiled.SOURCES) == set(artifacts.CONTRACTS)
    for name, art in fresh.items():
        kept = json.loads(compiled.artifact_file(compiled.ARTIFACTS_DIR, name).read_text())
        assert kept["bytecode"]["object"] == art["bytecode"]["object"], name
        assert kept["deployedBytecode"]["object"] == art["deployedBytecode"]["object"], name
        assert sorted(map(_key, kept["abi"])) == sorted(map(_key, art["abi"])), name
        loaded = artifacts.load_artifact(name)
        assert loaded.bytecode == art["bytecode"]["object"]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what the digest reads: contracts/, package-lock.json, foundry.toml, artifacts/."""
    shutil.copytree(ROOT / "contracts", tmp_path / "contracts")
    shutil.copytree(compiled.ARTIFACTS_DIR, tmp_path / "artifacts")
    for name in ("package-lock.json", "foundry.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(
    ("path", "old", "new", "says"),
    [
        (
            "contracts/LoyaltyPoints.sol",
            "",
            "\n// changed\n",
            "contracts: contracts/LoyaltyPoints.sol",
        ),
        ("contracts/interfaces/IERC7818.sol", "", "\n", "contracts: contracts/interfaces/IERC7818"),
        (
            "foundry.toml",
            "optimizer_runs = 10_000",
            "optimizer_runs = 200",
            "profile: optimizer_runs",
        ),
        ("foundry.toml", 'evm_version = "cancun"', 'evm_version = "paris"', "profile: evm_version"),
        (
            "package-lock.json",
            '"version": "5.4.0"',
            '"version": "5.4.1"',
            "packages: @openzeppelin",
        ),
    ],
)
def test_a_change_makes_them_stale(
    checkout: Path, path: str, old: str, new: str, says: str
) -> None:
    out = checkout / "artifacts"
    assert compiled.stale_inputs(checkout, out) == []
    f = checkout / path
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1) if old else text + new)
    stale = compiled.stale_inputs(checkout, out)
    assert stale and any(s.startswith(says) for s in stale), stale
    assert not compiled.is_current(checkout, out)


def test_settings_that_do_not_change_the_bytecode_do_not_count(checkout: Path) -> None:
    toml = checkout / "foundry.toml"
    toml.write_text(toml.read_text().replace('out = "out"', 'out = "build"'))
    assert compiled.stale_inputs(checkout, checkout / "artifacts") == []


def test_without_a_manifest_forge_out_is_used(checkout: Path) -> None:
    (checkout / "artifacts" / compiled.MANIFEST).unlink()
    assert not compiled.is_current(checkout, checkout / "artifacts")
    assert compiled.stale_inputs(checkout, checkout / "artifacts")[0].startswith("no manifest")


def test_check_command() -> None:
    assert compiled.main(["--check"]) == 0
    assert compiled.main(["--bogus"]) == 2
