"""Chain writes through the outbox: queue them with the request's rows, run the submitters
(one per signing key, whoever holds its lease), and wait for an intent when a caller asks.

Queuing checks what the key may sign (`Sender.allow`) and validates the input before anything
is written; the submitter (`chain.submitter`) pre-flights and sends.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine
from web3.contract.contract import ContractFunction

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.chain.submitter import Submitter
from loyalty_ledger.config import Settings
from loyalty_ledger.store import outbox as sql
from loyalty_ledger.store.lease import Lease
from loyalty_ledger.validate import checksum_address, positive_amount, reason_bytes, ref_bytes

log = logging.getLogger(__name__)
SETTLED = ("mined", "failed")


class Issuer:
    """Queues plain issues of one brand's points, signed by `sender` (the brand's key)."""

    def __init__(self, sender: Sender, program: Program) -> None:
        sender._check_target(program.points)  # KeyMisuse before anything is written
        self.sender, self.program = sender, program

    def enqueue(self, conn: Connection, values: dict[str, Any]) -> int:
        """An `issue` intent for an earn claim's values (member, points, reason, ref)."""
        f = earn_intent(self.program.brand_id, values)
        return self.issue(
            conn,
            idem_key=f["idem_key"],
            member=f["member"],
            amount=f["amount"],
            reason=f["reason"],
            ref=f["ref"],
        )

    def enqueue_many(self, conn: Connection, values: list[dict[str, Any]]) -> list[int]:
        """`enqueue` for many earn claims' values in one statement; their intent ids."""
        rows = self.intent_rows(values)
        return sql.enqueue_many(conn, rows) if rows else []

    def intent_rows(self, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The `issue` intents of earn claims' values, checked as `issue` checks them, for
        `store.outbox.enqueue_many` (the submitter is woken: they are about to be queued)."""
        rows = []
        for v in values:
            f = earn_intent(self.program.brand_id, v)
            reason_bytes(f["reason"]), ref_bytes(f["ref"])  # as `issue` checks
            rows.append(f | {"signer": self.sender.address, "to": self.program.points,
                             "member": checksum_address(f["member"]),
                             "amount": positive_amount(f["amount"])})  # fmt: skip
        wake(self.sender.address)
        return rows

    def issue(
        self, conn: Connection, *, idem_key: str, member: str, amount: int, reason: str, ref: str
    ) -> int:
        reason_bytes(reason), ref_bytes(ref)  # too long: InvalidInput now, not a failed intent
        wake(self.sender.address)
        return sql.enqueue(
            conn,
            signer=self.sender.address,
            idem_key=idem_key,
            kind="issue",
            to=self.program.points,
            member=checksum_address(member),
            amount=positive_amount(amount),
            reason=reason,
            ref=ref,
        )


def earn_intent(brand_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """The `issue` intent's fields for an earn claim's values (or its record)."""
    return {
        "idem_key": f"earn:{brand_id}:{values['idem_key']}",
        "member": values["member"],
        "amount": values["points"],
        "reason": values["reason"],
        "ref": values.get("order_id") or values.get("action_id") or values.get("ref") or "",
    }


def queued_earn(brand_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """The intent of a just-claimed earn record as it was queued (no read needed)."""
    empty = dict.fromkeys(("tx_hash", "nonce", "block_number", "error_code", "error"))
    return {"id": record["intent_id"], "state": "queued", "kind": "issue", **empty} | earn_intent(
        brand_id, record
    )


_WAKE: dict[str, threading.Event] = {}
MAX_IDLE = 0.25  # an idle submitter looks at the queue at least this often (seconds)


def _wake_event(signer: str) -> threading.Event:
    return _WAKE.setdefault(signer, threading.Event())


def wake(signer: str) -> None:
    """A write was queued for `signer` in this process: its submitter looks now."""
    _wake_event(signer).set()


def enqueue_call(
    conn: Connection, *, sender: Sender, call: ContractFunction, idem_key: str, value: int = 0
) -> int:
    """A `call` intent: any transaction of `sender`'s key (relays, passes, registrations)."""
    sender._check_target(call.address)
    wake(sender.address)  # early is harmless: the submitter just finds nothing yet
    return sql.enqueue(
        conn,
        signer=sender.address,
        idem_key=idem_key,
        kind="call",
        to=call.address,
        data=str(call._encode_transaction_data()),
        value=value,
    )


def operation(row: dict[str, Any]) -> dict[str, Any]:
    """The public view of an intent (GET /operations/{id})."""
    out = {
        k: row[k]
        for k in ("id", "state", "kind", "tx_hash", "nonce", "block_number", "error_code", "error")
    }
    if row["kind"] == "issue":
        out.update(member=row["member"], amount=row["amount"], reason=row["reason"], ref=row["ref"])
    out["idem_key"] = row["idem_key"].split("#failed:")[0]
    return out


def wait(engine: Engine, intent_id: int, timeout: float) -> dict[str, Any] | None:
    """The intent once mined or failed, or as it stands after `timeout` seconds."""
    deadline, pause = time.monotonic() + max(0.0, timeout), 0.01
    while True:
        row = sql.intent(engine, intent_id)
        if row is None or row["state"] in SETTLED or time.monotonic() >= deadline:
            return row
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(0.1, pause * 1.5)  # many waiting requests must not crowd the database


def run_submitter(
    *,
    engine: Engine,
    url: str,
    sender: Sender,
    settings: Settings,
    stop: threading.Event,
    on_lease: Callable[[bool], None] | None = None,
) -> None:
    """Send `sender`'s intents while holding its key's lease; wait for the lease otherwise.

    A node or database failure is logged and retried after a pause; the lease is kept.
    """
    lease = Lease(url, f"submitter:{sender.address}")
    idle = max(0.005, min(settings.outbox_batch_ms / 1000, 0.02))
    try:
        while not stop.is_set():
            if not lease.try_acquire():
                stop.wait(0.2)
                continue
            if on_lease is not None:
                on_lease(True)
            sub = Submitter(
                sender,
                sql.SqlOutbox(engine, sender.address),
                batch_items=settings.outbox_batch_items,
                batch_ms=settings.outbox_batch_ms,
                stuck_seconds=settings.outbox_stuck_seconds,
            )
            _drive(sub, lease, stop, idle)
            if on_lease is not None and not stop.is_set():
                on_lease(False)
    finally:
        lease.release()


def _drive(sub: Submitter, lease: Lease, stop: threading.Event, idle: float) -> None:
    """Step while there is work; when idle, wait a little longer each round (up to MAX_IDLE)
    unless a write queued in this process wakes it."""
    started = False
    last_check = time.monotonic()
    wake_up, pause, failing = _wake_event(sub.account.address), idle, ""
    while not stop.is_set():
        try:
            if not started:
                sub.start()
                started = True
            moved = sub.step()
        except Exception as exc:  # the node or the database went away mid-step
            why = f"{type(exc).__name__}: {exc}"
            # Once per stretch of the same failure, not every second.
            (log.debug if why == failing else log.warning)(
                "submitter %s: %s; retrying", sub.account.address, why
            )
            failing, started = why, False
            stop.wait(1.0)
            continue
        if failing:
            log.warning("submitter %s: working again", sub.account.address)
            failing = ""
        if time.monotonic() - last_check > 5.0:
            last_check = time.monotonic()
            if not lease.alive():
                return  # the database session (and with it the lease) is gone: re-acquire
        if moved or sub.queue.open_txs():
            pause = idle
            if not moved:
                stop.wait(idle)
            continue
        wake_up.wait(pause)
        wake_up.clear()
        pause = min(MAX_IDLE, pause * 2)


def start_submitters(
    *,
    engine: Engine,
    url: str,
    senders: list[Sender],
    settings: Settings,
    stop: threading.Event,
    on_lease: Callable[[str, bool], None] | None = None,
) -> list[threading.Thread]:
    """One daemon thread per signing address; only the lease holder of a key sends.
    `on_lease(address, held)` is told when a thread takes or loses its key's lease."""
    threads = []
    for s in {s.address: s for s in senders}.values():
        told = None if on_lease is None else functools.partial(on_lease, s.address)
        kw = {"engine": engine, "url": url, "sender": s, "settings": settings, "stop": stop}
        t = threading.Thread(
            target=run_submitter,
            kwargs={**kw, "on_lease": told},
            name=f"submitter-{s.address[:10]}",
            daemon=True,
        )
        t.start()
        threads.append(t)
    return threads
