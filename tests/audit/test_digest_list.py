"""A published digest list is checked entry by entry: any one altered entry is caught and named."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from loyalty_ledger.audit.decode import Log
from loyalty_ledger.audit.digest import (
    BlockDigest,
    differences,
    digest_logs,
    dump,
    first_difference,
)
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.cli.audit import audit_app

REGISTRY = "0x" + "ab" * 20


def _published(n: int = 42) -> list[BlockDigest]:
    logs = [
        Log(
            10 + 3 * i,
            "0x" + f"{i:064x}",
            "0x" + f"{i + 1000:064x}",
            0,
            0,
            REGISTRY,
            ("0x" + "11" * 32,),
            "0x" + f"{i:064x}",
        )
        for i in range(n)
    ]
    return digest_logs(31337, REGISTRY, logs)


def test_published_list_of_42_agrees_with_itself() -> None:
    ours = _published()
    assert len(ours) == 42
    assert differences(ours, list(ours)) == [] and first_difference(ours, list(ours)) is None


@pytest.mark.parametrize("field", ["digest", "block_hash", "block"])
def test_every_altered_entry_is_caught(field: str) -> None:
    ours = _published()
    for i, entry in enumerate(ours):
        changed: Any = {
            "digest": "0x" + "00" * 32,
            "block_hash": "0x" + "ee" * 32,
            "block": entry.block + 1,
        }[field]
        theirs = list(ours)
        theirs[i] = replace(entry, **{field: changed})
        diffs = differences(ours, theirs)
        assert [(d.index, d.block, d.fields) for d in diffs] == [(i, entry.block, (field,))]
        assert first_difference(ours, theirs) == entry.block, f"entry {i} missed"


def test_missing_and_extra_entries_are_caught() -> None:
    ours = _published()
    dropped = ours[:20] + ours[21:]
    diffs = differences(ours, dropped)
    assert diffs[0].index == 20 and diffs[-1].fields == ("missing",)
    assert [d.fields for d in differences(ours[:41], ours)] == [("extra",)]


@pytest.mark.chain
def test_audit_catches_each_altered_published_entry(scenario: Any, tmp_path: Path) -> None:
    end = scenario.marks["end"]
    rep = run_audit(scenario.network, at_block=end, check_code=False, check_chain=False)
    published = dump(rep.chain_id, rep.registry, rep.digests)
    path = tmp_path / "digests.json"
    path.write_text(json.dumps(published))
    clean = run_audit(
        scenario.network, at_block=end, check_code=False, check_chain=False, bisect_file=str(path)
    )
    assert clean.ok and clean.bisect["differing_entries"] == 0
    n = len(published["digests"])
    assert n > 15
    for i in range(n):
        doctored = json.loads(json.dumps(published))
        doctored["digests"][i]["digest"] = "0x" + "00" * 32
        path.write_text(json.dumps(doctored))
        got = run_audit(
            scenario.network,
            at_block=end,
            check_code=False,
            check_chain=False,
            bisect_file=str(path),
        )
        block = published["digests"][i]["block"]
        assert not got.ok, f"entry {i} (block {block}) not caught"
        assert got.bisect["first_difference"] == block
        (f,) = got.errors
        assert (f.check, f.code) == ("digest", "digest-differs")
        assert f"entry #{i} (block {block})" in f.detail and "1 of" in f.detail

    # Through the command: exit 1, and the report names the entry and its block.
    k = n // 2
    doctored = json.loads(json.dumps(published))
    doctored["digests"][k]["digest"] = "0x" + "11" * 32
    path.write_text(json.dumps(doctored))
    args = ["--rpc-url", scenario.anvil.url, "--registry", rep.registry, "--no-code"]
    args += ["--from-block", str(scenario.network.start_block), "--at-block", str(end)]
    res = CliRunner().invoke(audit_app, [*args, "--no-chain", "--bisect", str(path)])
    assert res.exit_code == 1, res.output
    block = published["digests"][k]["block"]
    assert f"entry #{k} (block {block})" in res.output

    # A header for another network is named too.
    doctored = json.loads(json.dumps(published)) | {"chain_id": 1}
    path.write_text(json.dumps(doctored))
    res = CliRunner().invoke(audit_app, [*args, "--no-chain", "--bisect", str(path)])
    assert res.exit_code == 1 and "chain_id 1" in res.output
