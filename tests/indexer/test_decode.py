"""Fast decoding equals the plain reference and web3's own decoder, for every event kind."""

from __future__ import annotations

import random

import pytest
from web3._utils.method_formatters import log_entry_formatter  # type: ignore[attr-defined]

from loyalty_ledger.indexer.decode import SPECS, decode_args_reference, decode_logs

from .netutil import ARTIFACTS, Net, activity, all_logs, member_addresses

pytestmark = [pytest.mark.chain]


def _web3_value(v):  # type: ignore[no-untyped-def]
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, str) and v.startswith("0x") and len(v) == 42:
        return v.lower()
    return v


def test_decode_matches_reference_and_web3(net: Net) -> None:
    rnd = random.Random(1)
    net.add_brand("d0")
    net.register_members(member_addresses(20) + net.w3.eth.accounts[1:4])
    activity(net, rnd, 40)
    raw = all_logs(net, net.w3.eth.block_number)
    decoded = decode_logs(raw)
    assert all(d.spec is not None for d in decoded), {
        d.args.get("topics", [None])[0] for d in decoded if d.spec is None
    }
    seen = set()
    contracts = {name: net.w3.eth.contract(abi=a["abi"]) for name, a in ARTIFACTS.items()}
    for log, d in zip(raw, decoded, strict=True):
        assert d.spec is not None
        assert d.args == decode_args_reference(d.spec, log["topics"], log["data"])
        seen.add(d.spec.signature + str(len(d.spec.indexed)))
        formatted = log_entry_formatter(log)
        for c in contracts.values():
            try:
                ev = getattr(c.events, d.event)()
            except Exception:
                continue
            try:
                w = ev.process_log(formatted)
            except Exception:
                continue
            assert {k: _web3_value(v) for k, v in w["args"].items()} == d.args
            break
        else:
            raise AssertionError(f"web3 could not decode {d.event}")
    assert len(seen) >= 20, sorted(seen)


def test_unknown_and_malformed_logs_are_kept_raw() -> None:
    topic = next(k[0] for k, s in SPECS.items() if s.name == "Transfer" and k[1] == 3)
    logs = [
        {
            "blockNumber": "0x1",
            "blockHash": "0x" + "1" * 64,
            "transactionHash": "0x" + "2" * 64,
            "transactionIndex": "0x0",
            "logIndex": "0x0",
            "address": "0x" + "A" * 40,
            "topics": ["0x" + "f" * 64],
            "data": "0x",
        },
        {
            "blockNumber": "0x1",
            "blockHash": "0x" + "1" * 64,
            "transactionHash": "0x" + "2" * 64,
            "transactionIndex": "0x0",
            "logIndex": "0x1",
            "address": "0x" + "A" * 40,
            "topics": [topic, "0x" + "0" * 64, "0x" + "0" * 64],
            "data": "0x12",
        },
    ]
    out = decode_logs(logs)
    assert [d.event for d in out] == ["?", "?"]
    assert out[0].args == {"topics": ["0x" + "f" * 64], "data": "0x"}
    assert out[0].contract == "0x" + "a" * 40
