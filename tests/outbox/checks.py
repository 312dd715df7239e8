"""What "every order earned exactly once" means, checked three ways: the chain's PointsIssued
logs (one per order id, the right member and amount) and balances, the mirror after indexing
to the head (one issue entry per order id), and the outbox and earn records (all settled)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from eth_utils import keccak
from sqlalchemy import Engine, text
from web3 import Web3

from loyalty_ledger import ledger
from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.validate import text32

from .fleet import POINT, ROOT, Till, drained, earn_rows

ISSUED = "0x" + keccak(text="PointsIssued(address,uint256,bytes32,bytes32)").hex()


def chain_issues(w3: Web3, program: Program, prefix: str) -> Counter[tuple[str, str, int]]:
    """(order id, member, points) of every PointsIssued log whose ref starts with `prefix`."""
    out: Counter[tuple[str, str, int]] = Counter()
    head = w3.eth.block_number
    for start in range(program.block, head + 1, 2000):
        logs = w3.eth.get_logs(
            {
                "address": Web3.to_checksum_address(program.points),
                "topics": [ISSUED],
                "fromBlock": start,
                "toBlock": min(head, start + 1999),
            }
        )
        for log in logs:
            data = bytes(log["data"])
            ref = text32("0x" + data[32:64].hex())
            if ref.startswith(prefix + "-"):
                member = Web3.to_checksum_address(bytes(log["topics"][1])[-20:])
                out[(ref, member, int.from_bytes(data[:32], "big"))] += 1
    return out


def expected_issues(till: Till) -> Counter[tuple[str, str, int]]:
    orders = (till.order(i) for i in range(till.count))
    return Counter((o["order_id"], o["member"], o["amount"] // POINT) for o in orders)


def index_to_head(env: dict[str, str], database_url: str, cwd: Path) -> None:
    """`loyalty index` once: the mirror catches up with the chain's head."""
    r = subprocess.run(
        [sys.executable, "-m", "loyalty_ledger", "index", "--database", database_url],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)} | {"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def mirror_issues(engine: Engine, program: Program, prefix: str) -> Counter[tuple[str, str, int]]:
    q = text(
        "select ref, account, amount from ledger_entry where kind = 'issue' and lower(token) = "
        ":token and ref like :prefix"
    )
    with engine.connect() as conn:
        rows = conn.execute(q, {"token": program.points.lower(), "prefix": prefix + "-%"}).all()
    return Counter((str(r), Web3.to_checksum_address(a), int(n)) for r, a, n in rows)


def assert_earned_once(
    *,
    w3: Web3,
    engine: Engine,
    program: Program,
    till: Till,
    before: dict[str, int],
    timeout: float = 120,
) -> dict[str, Any]:
    """Once the outbox drained (every intent mined), every order of `till` credited exactly
    once on chain and in SQL; returns a summary."""
    counts = drained(engine, timeout=timeout)
    assert set(counts) == {"mined"}, counts
    want = expected_issues(till)
    got = chain_issues(w3, program, till.prefix)
    twice = [k for k, n in got.items() if n > 1]
    missing = [k for k in want if k not in got]
    assert not twice and not missing and got == want, (twice[:5], missing[:5], len(got))
    for member, points in till.expected().items():
        delta = ledger.balance_of(w3=w3, program=program, member=member) - before[member]
        assert delta == points, (member, delta, points)
    rows = [r for r in earn_rows(engine) if (r["order_id"] or "").startswith(till.prefix + "-")]
    assert len(rows) == till.count, len(rows)
    assert {r["status"] for r in rows} == {"confirmed"}
    return {"orders": till.count, "issued_logs": sum(got.values())}
