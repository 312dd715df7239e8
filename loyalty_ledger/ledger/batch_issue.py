"""Idempotent batch issue through the outbox (`loyalty points issue-batch`).

Every row becomes an `issue` intent keyed by brand and ref (a row without a ref: by the file's
digest and line) in one SQL transaction before anything is sent; a submitter then sends them
(this process when it holds the key's lease, else the holder) and the caller follows them until
they settle. A re-run refuses refs already issued (a mined intent, or an issue with that ref in
the mirror's `ledger_entry` of the brand) and resumes an interrupted run: its intents still
queued or sent are followed, never queued again, so no row is issued twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, inspect, select
from web3 import Web3

from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.config import Settings
from loyalty_ledger.ledger import outbox
from loyalty_ledger.ledger.points import BatchItem
from loyalty_ledger.store import LedgerEntry
from loyalty_ledger.store import outbox as sql
from loyalty_ledger.validate import decode_bytes32, ref_bytes

OPEN = ("queued", "sent")


@dataclass
class Plan:
    """What a batch would do: rows to queue, rows of an interrupted run to follow, refusals."""

    brand: str
    reason: str
    items: list[BatchItem]
    keys: list[str]
    new: list[int] = field(default_factory=list)  # row indexes to queue
    pending: dict[int, int] = field(default_factory=dict)  # row index -> open intent id
    done: dict[int, int] = field(default_factory=dict)  # row index -> mined intent id
    issued: list[str] = field(default_factory=list)  # refs issued outside this batch
    conflicts: list[str] = field(default_factory=list)  # refs queued with other values
    duplicates: list[str] = field(default_factory=list)  # refs twice in the file
    members: list[str] = field(default_factory=list)  # rows' members the chain would refuse

    @property
    def resuming(self) -> bool:
        return bool(self.pending)

    def refused(self) -> list[str]:
        """Refs that stop the batch: issued before (unless this resumes its own run)."""
        refs = self.issued + self.conflicts + self.duplicates
        if not self.resuming:
            refs += [self.items[i].ref or f"(row {i + 1})" for i in self.done]
        return sorted(set(refs))

    def summary(self) -> dict[str, Any]:
        items = self.items
        problems = [f"ref {r} appears more than once" for r in self.duplicates]
        problems += [f"ref {r} was already issued" for r in self.issued]
        problems += [
            f"ref {r} is queued with another member, amount or reason" for r in self.conflicts
        ]
        if not self.resuming:
            problems += [
                f"ref {items[i].ref or f'(row {i + 1})'} was already issued" for i in self.done
            ]
        problems += self.members
        return {
            "brand": self.brand,
            "rows": len(items),
            "total": sum(i.amount for i in items),
            "members": len({i.member for i in items}),
            "refs": sum(1 for i in items if i.ref),
            "to_issue": len(self.new),
            "to_issue_total": sum(items[i].amount for i in self.new),
            "resuming": len(self.pending),
            "already_issued": sorted(items[i].ref or f"(row {i + 1})" for i in self.done),
            "problems": problems,
        }


def row_keys(brand: str, items: Sequence[BatchItem], digest: str) -> list[str]:
    """Each row's idempotency key: brand and ref, or the file's digest and row for no ref."""
    return [
        f"issue:{brand}:{i.ref}" if i.ref else f"issue:{brand}:file:{digest[:32]}:{n}"
        for n, i in enumerate(items)
    ]


def make_plan(
    engine: Engine, program: Program, items: list[BatchItem], *, reason: str, digest: str
) -> Plan:
    """Classify each row against the outbox and the mirror (reads only)."""
    brand = program.brand_id
    plan = Plan(brand, reason, items, row_keys(brand, items, digest))
    seen: dict[str, int] = {}
    for n, item in enumerate(items):
        if item.ref and item.ref in seen:
            plan.duplicates.append(item.ref)
        seen.setdefault(item.ref, n)
    have = _tables(engine)
    intents = sql.by_keys(engine, plan.keys) if "outbox_intent" in have else {}
    in_mirror = _mirror_refs(engine, program.points, items) if "ledger_entry" in have else set()
    for n, (item, key) in enumerate(zip(items, plan.keys, strict=True)):
        row = intents.get(key)
        if row is None:
            if item.ref and item.ref in in_mirror:
                plan.issued.append(item.ref)
            else:
                plan.new.append(n)
        elif (row["member"], int(row["amount"] or 0), row["reason"]) != (
            item.member,
            item.amount,
            reason,
        ):
            plan.conflicts.append(item.ref or f"(row {n + 1})")
        elif row["state"] in OPEN:
            plan.pending[n] = int(row["id"])
        else:
            plan.done[n] = int(row["id"])
    return plan


def member_problems(w3: Web3, deployment: Deployment, items: Sequence[BatchItem]) -> list[str]:
    """Members the registry would refuse an issue to (not registered, frozen), for a dry run;
    read in JSON-RPC batches."""
    reg = contracts.registry(w3, deployment)
    members = sorted({i.member for i in items})
    out: list[str] = []
    for start in range(0, len(members), 250):
        chunk = members[start : start + 250]
        with w3.batch_requests() as batch:
            for m in chunk:
                batch.add(reg.functions.isMember(m))  # type: ignore[arg-type]
                batch.add(reg.functions.isFrozen(m))  # type: ignore[arg-type]
            res = batch.execute()
        for n, m in enumerate(chunk):
            if not res[2 * n]:
                out.append(f"member {m} is not registered")
            elif res[2 * n + 1]:
                out.append(f"member {m} is frozen")
    return out


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _mirror_refs(engine: Engine, token: str, items: Sequence[BatchItem]) -> set[str]:
    """The batch's refs that the mirror shows issued on `token` (in its bytes32 text form)."""
    forms = {decode_bytes32(ref_bytes(i.ref)): i.ref for i in items if i.ref}
    t = LedgerEntry.__table__  # type: ignore[attr-defined]
    found: set[str] = set()
    names = list(forms)
    with engine.connect() as conn:
        for start in range(0, len(names), 500):
            q = select(t.c.ref).where(
                t.c.token.in_([token, token.lower()]),
                t.c.kind == "issue",
                t.c.ref.in_(names[start : start + 500]),
            )
            found.update(forms[r] for r in conn.execute(q).scalars() if r in forms)
    return found


def queue(engine: Engine, sender: Sender, program: Program, plan: Plan) -> list[int]:
    """Queue the plan's new rows in one transaction; returns every intent id to follow."""
    issuer = outbox.Issuer(sender, program)
    ids = list(plan.pending.values())
    with engine.begin() as conn:
        for n in plan.new:
            item = plan.items[n]
            ids.append(
                issuer.issue(
                    conn,
                    idem_key=plan.keys[n],
                    member=item.member,
                    amount=item.amount,
                    reason=plan.reason,
                    ref=item.ref,
                )
            )
    return ids


def follow(
    *,
    engine: Engine,
    url: str,
    sender: Sender,
    settings: Settings,
    ids: list[int],
    timeout: float,
    progress: Callable[[dict[str, int]], None],
) -> dict[int, dict[str, Any]]:
    """Run a submitter for `sender`'s key (it sends only while it holds the key's lease) until
    every intent in `ids` is mined or failed, or `timeout` seconds pass; returns the intents."""
    stop = threading.Event()
    worker = threading.Thread(
        target=outbox.run_submitter,
        kwargs={"engine": engine, "url": url, "sender": sender, "settings": settings, "stop": stop},
        name="issue-batch-submitter",
        daemon=True,
    )
    worker.start()
    deadline = time.monotonic() + timeout
    last: dict[str, int] = {}
    try:
        while True:
            rows = _intents(engine, ids)
            states: dict[str, int] = {}
            for r in rows.values():
                states[r["state"]] = states.get(r["state"], 0) + 1
            if states != last:
                progress(states)
                last = states
            if not any(s in states for s in OPEN) or time.monotonic() >= deadline:
                return rows
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(10)


def _intents(engine: Engine, ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            q = select(sql.T_INTENT).where(sql.T_INTENT.c.id.in_(ids[start : start + 500]))
            out.update({int(r["id"]): dict(r) for r in conn.execute(q).mappings()})
    return out
