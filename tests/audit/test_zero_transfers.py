"""The audit of a ledger with EIP-20 transfers of 0 points and a pass moved to its own holder,
on the full scenario (frozen and recovered members, a paused brand): the mirror built by the
indexer audits clean on SQLite and PostgreSQL, the member statement shows the 0-point lines, and
the rules still hold for a 0 transfer (a frozen recipient is refused, nothing changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from loyalty_ledger.audit.report import to_text
from loyalty_ledger.audit.runner import run_audit
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.errors import AccountFrozen
from loyalty_ledger.ledger import passes
from loyalty_ledger.store import metadata

from .mirrors import PARAMS, indexed_mirror, rows

pytestmark = pytest.mark.chain


def _zero_and_self_transfers(s: Any) -> None:
    """m0 → m2 of 0, m2 moves 0 of m0's (no allowance) to m4, the recovered wallet m5 sends 0,
    m0 sends 0 to itself; a bolt pass (transferable, so minted Unlocked) moved to its holder."""
    pts = contracts.points(s.w3, s.acme)
    m = s.members
    m[0].transact(pts.functions.transfer(m[2].address, 0))
    m[2].transact(pts.functions.transferFrom(m[0].address, m[4].address, 0))
    m[5].transact(pts.functions.transfer(m[0].address, 0))
    m[0].transact(pts.functions.transfer(m[0].address, 0))
    passes.issue_pass(sender=s.brand, program=s.bolt, member=m[2].address)
    passes.transfer_pass(sender=m[2], program=s.bolt, to=m[2].address)


@pytest.mark.parametrize("kind", PARAMS)
def test_zero_transfers_audit_clean(snapshot: Any, kind: str, tmp_path: Path) -> None:
    s = snapshot
    baseline = run_audit(s.network, check_code=False)
    assert baseline.ok, to_text(baseline)
    _zero_and_self_transfers(s)
    for url in indexed_mirror(kind, tmp_path, s.anvil.url, s.deployment):
        rep = run_audit(s.network, database=url, check_code=False, member=s.addr(0))
        assert rep.ok, to_text(rep)
        # Nothing new: the scenario's own warnings (if any) and not one more.
        assert [(f.code, f.key) for f in rep.findings] == [
            (f.code, f.key) for f in baseline.findings
        ], to_text(rep)
        assert rep.checks["mirror"]["findings"] == 0
        entries = rows(
            url,
            select(metadata.tables["ledger_entry"]).where(
                metadata.tables["ledger_entry"].c.amount == 0
            ),
        )
        assert sorted((e["account"], e["counterparty"]) for e in entries) == sorted(
            [
                (s.addr(0), s.addr(2)),
                (s.addr(0), s.addr(4)),
                (s.addr(5), s.addr(0)),
                (s.addr(0), s.addr(0)),
            ]
        )
        statement = rep.statement["entries"]
        zero = [e for e in statement if e["delta"] == 0 and e["kind"].startswith("transfer")]
        assert len(zero) == 4  # m0 is on each side once, and both sides of its own
        tid = passes.pass_of(w3=s.w3, program=s.bolt, member=s.addr(2))
        assert tid is not None
        pass_rows = rows(url, select(metadata.tables["pass"]))
        mine = [r for r in pass_rows if r["contract"] == s.bolt.pass_.lower()]
        assert [(r["owner"], r["locked"]) for r in mine] == [(s.addr(2), False)]


def test_zero_transfer_to_frozen_is_refused(snapshot: Any) -> None:
    s = snapshot
    pts = contracts.points(s.w3, s.acme)
    head = s.w3.eth.block_number
    m0 = Sender(s.w3, ANVIL_DEV_KEYS[2], decoder=error_decoder())  # members[0], decoding
    with pytest.raises(AccountFrozen):
        m0.transact(pts.functions.transfer(s.members[3].address, 0))
    assert s.w3.eth.block_number == head
