"""The replay's state through a snapshot and back, at every block boundary: the resumed replay
ends in the state of the straight one (lots, expiry, swaps, findings included)."""

from __future__ import annotations

import json

import pytest

from loyalty_ledger.audit.decode import decode
from loyalty_ledger.audit.invariants import check_invariants
from loyalty_ledger.audit.replay import Replayer
from loyalty_ledger.audit.snapshot import SnapshotUnreadable, dump_state, load_state

from .logchain import KINDS, REG, Chain, gift, with_exchange, with_lots


def _resumed(c: Chain, split: int, at: int):
    first = Replayer(REG)
    for log in c.logs:
        if log.block_number <= split:
            first.apply(decode(log, KINDS[log.address]))
    text = first.snapshot()
    state, last = load_state(text)
    assert dump_state(state, last) == text  # canonical: the same text again
    second = Replayer(REG)
    second.resume(state, last)
    for log in c.logs:
        if log.block_number > split:
            second.apply(decode(log, KINDS[log.address]))
    st = second.finish(c.block, at)
    st.findings.extend(check_invariants(st))
    return st


@pytest.mark.parametrize("make", [with_lots, with_exchange])
def test_resumed_replay_equals_the_straight_one_at_every_block(make) -> None:
    c = make()
    c.tx(400, *gift("0x" + "01" * 20, "0x" + "02" * 20, 10_000))  # a breach: findings carried
    at = 2 * 86_400
    straight = c.replay(at)
    assert straight.findings
    for split in range(0, c.block + 1):
        assert _resumed(c, split, at) == straight, f"resumed after block {split}"


def test_a_snapshot_naming_another_class_is_refused() -> None:
    c = with_lots()
    r = Replayer(REG)
    for log in c.logs:
        r.apply(decode(log, KINDS[log.address]))
    raw = json.loads(r.snapshot())
    raw["state"]["@"] = "Popen"
    with pytest.raises(SnapshotUnreadable, match="unknown class 'Popen'"):
        load_state(json.dumps(raw))
    raw["state"]["@"] = "LedgerState"
    raw["state"]["extra"] = 1
    with pytest.raises(SnapshotUnreadable, match="other fields"):
        load_state(json.dumps(raw))
