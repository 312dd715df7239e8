"""The outbox's SQL: intents queued with the request's own rows, and the signed transactions
that carry them. The submitter (`chain.submitter`) drives it through `SqlOutbox`.

Every state change of a transaction and its intents happens in one database transaction, and a
signed transaction is recorded before it is broadcast, so a crash at any point leaves either a
queued intent (sent later) or a recorded transaction (found on chain or re-sent), never both.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from . import settle
from .driver_sql import insert_returning, insert_sql, is_pg
from .offchain import OutboxIntent, OutboxTx, table

T_INTENT, T_TX = table(OutboxIntent), table(OutboxTx)
OPEN = ("queued", "sent")
_INSERT_INTENT = insert(T_INTENT).returning(T_INTENT.c.id)
MAX_ERROR = 500


def now_ms() -> int:
    return int(time.time() * 1000)


_ISSUE_COLUMNS = ("signer", "idem_key", "member", "amount", "reason", "ref", "to_address",
                  "kind", "state", "value", "attempts", "created_at", "updated_at")  # fmt: skip
INSERT_ISSUE = {pg: insert_sql("outbox_intent", _ISSUE_COLUMNS, pg) for pg in (False, True)}


def enqueue_many(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Many `issue` intents (each: signer, idem_key, to, member, amount, reason, ref) inside
    the caller's transaction, on the driver (one round trip on PostgreSQL); their ids in the
    order given. A key queued before raises IntegrityError, as `enqueue` does."""
    pg = is_pg(conn)
    return insert_returning(conn, INSERT_ISSUE[pg], issue_params(rows, pg))


def issue_params(rows: list[dict[str, Any]], pg: bool) -> list[tuple[Any, ...]]:
    """`enqueue_many`'s rows as the parameters of `INSERT_ISSUE`."""
    t = now_ms()
    return [
        (r["signer"], r["idem_key"], r["member"], int(r["amount"]) if pg else str(int(r["amount"])),
         r["reason"], r["ref"], r["to"], "issue", "queued", 0, 0, t, t)
        for r in rows
    ]  # fmt: skip


def enqueue(
    conn: Connection,
    *,
    signer: str,
    idem_key: str,
    kind: str,
    to: str,
    data: str | None = None,
    value: int = 0,
    member: str | None = None,
    amount: int | None = None,
    reason: str | None = None,
    ref: str | None = None,
) -> int:
    """Queue a chain write inside the caller's transaction; returns the intent id.

    A second intent with the same `idem_key` raises IntegrityError (the caller's rollback).
    """
    t = now_ms()
    row = {
        "signer": signer,
        "idem_key": idem_key,
        "kind": kind,
        "to_address": to,
        "data": data,
        "value": value,
        "member": member,
        "amount": amount,
        "reason": reason,
        "ref": ref,
        "state": "queued",
        "attempts": 0,
        "created_at": t,
        "updated_at": t,
    }
    # One constant statement with parameters: compiled once, not rebuilt per request.
    return int(conn.execute(_INSERT_INTENT, row).scalar_one())


def intent(engine: Engine, intent_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(T_INTENT).where(T_INTENT.c.id == intent_id)).mappings().first()
    return dict(row) if row else None


def by_keys(engine: Engine, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Intents by idempotency key (in chunks: a CSV can hold many thousands)."""
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            q = select(T_INTENT).where(T_INTENT.c.idem_key.in_(chunk))
            out.update({r["idem_key"]: dict(r) for r in conn.execute(q).mappings()})
    return out


def counts(engine: Engine, signer: str | None = None) -> dict[str, int]:
    """Intents per state (for /health, the tests and the benchmarks)."""
    q = select(T_INTENT.c.state, func.count()).group_by(T_INTENT.c.state)
    if signer is not None:
        q = q.where(T_INTENT.c.signer == signer)
    with engine.connect() as conn:
        return {state: int(n) for state, n in conn.execute(q)}


class SqlOutbox:
    """The submitter's view of the outbox for one signing address."""

    def __init__(self, engine: Engine, signer: str) -> None:
        self.engine, self.signer = engine, signer

    def queued(self, limit: int = 2000) -> list[dict[str, Any]]:
        q = (
            select(T_INTENT)
            .where(T_INTENT.c.signer == self.signer, T_INTENT.c.state == "queued")
            .order_by(T_INTENT.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def max_nonce(self) -> int | None:
        q = select(func.max(T_TX.c.nonce)).where(T_TX.c.signer == self.signer)
        with self.engine.connect() as conn:
            value = conn.execute(q).scalar()
        return None if value is None else int(value)

    def open_txs(self) -> list[dict[str, Any]]:
        q = (
            select(T_TX)
            .where(T_TX.c.signer == self.signer, T_TX.c.state == "sent")
            .order_by(T_TX.c.nonce, T_TX.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def replaced_hashes(self, nonce: int) -> list[str]:
        """The hashes of this signer's replaced transactions at `nonce` (earlier fees, or lost)."""
        t = T_TX.c
        q = select(t.tx_hash).where(
            t.signer == self.signer, t.nonce == nonce, t.state == "replaced"
        )
        with self.engine.connect() as conn:
            return [str(h) for h in conn.execute(q.order_by(t.id)).scalars()]

    def record_tx(self, tx: dict[str, Any], intent_ids: Sequence[int]) -> int:
        """Record a signed tx and mark its intents sent, before it is broadcast."""
        with self.engine.begin() as conn:
            tx_id = int(
                conn.execute(
                    insert(T_TX).values(signer=self.signer, state="sent", sent_at=now_ms(), **tx)
                ).inserted_primary_key[0]  # type: ignore[index]
            )
            res = conn.execute(
                update(T_INTENT)
                .where(T_INTENT.c.id.in_(list(intent_ids)), T_INTENT.c.state == "queued")
                .values(
                    state="sent",
                    tx_id=tx_id,
                    tx_hash=tx["tx_hash"],
                    nonce=tx["nonce"],
                    attempts=T_INTENT.c.attempts + 1,
                    updated_at=now_ms(),
                )
            )
            if res.rowcount != len(intent_ids):  # another sender took some: never send twice
                conn.rollback()
                raise RuntimeError("outbox intents were taken by another submitter")
        return tx_id

    def replace_tx(self, old_id: int, tx: dict[str, Any]) -> int:
        """A re-signed tx for the same nonce (higher fee): the intents move to it."""
        with self.engine.begin() as conn:
            conn.execute(update(T_TX).where(T_TX.c.id == old_id).values(state="replaced"))
            tx_id = int(
                conn.execute(
                    insert(T_TX).values(signer=self.signer, state="sent", sent_at=now_ms(), **tx)
                ).inserted_primary_key[0]  # type: ignore[index]
            )
            conn.execute(
                update(T_INTENT)
                .where(T_INTENT.c.tx_id == old_id)
                .values(tx_id=tx_id, tx_hash=tx["tx_hash"], updated_at=now_ms())
            )
        return tx_id

    def mined(self, tx_id: int, *, block: int, gas_used: int, tx_hash: str) -> None:
        """The tx (this one, or a replaced one of the same nonce) succeeded."""
        with self.engine.begin() as conn:
            conn.execute(
                update(T_TX)
                .where(T_TX.c.id == tx_id)
                .values(state="mined", block_number=block, gas_used=gas_used)
            )
            ids = _intent_ids(conn, tx_id)
            conn.execute(
                update(T_INTENT)
                .where(T_INTENT.c.id.in_(ids))
                .values(state="mined", block_number=block, tx_hash=tx_hash, updated_at=now_ms())
            )
            settle.mined(conn, ids, tx_hash=tx_hash, block=block)

    def tx_reverted(
        self, tx_id: int, *, block: int, requeue_below: int = 0
    ) -> tuple[list[int], list[int]]:
        """A mined revert: the tx is failed; its intents sent fewer than `requeue_below` times
        go back to the queue (the submitter then sends each alone), the others are left for
        `fail` by the caller. Returns (requeued ids, left ids)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(T_TX).where(T_TX.c.id == tx_id).values(state="failed", block_number=block)
            )
            rows = conn.execute(
                select(T_INTENT.c.id, T_INTENT.c.attempts).where(T_INTENT.c.tx_id == tx_id)
            ).all()
            again = [int(i) for i, n in rows if n < requeue_below]
            _requeue(conn, again)
        return again, [int(i) for i, n in rows if n >= requeue_below]

    def tx_lost(self, tx_id: int) -> None:
        """The tx's nonce was used by another transaction: it never ran; requeue its intents
        (that send does not count as an attempt)."""
        with self.engine.begin() as conn:
            conn.execute(update(T_TX).where(T_TX.c.id == tx_id).values(state="replaced"))
            ids = _intent_ids(conn, tx_id)
            _requeue(conn, ids)
            conn.execute(
                update(T_INTENT)
                .where(T_INTENT.c.id.in_(ids), T_INTENT.c.attempts > 0)
                .values(attempts=T_INTENT.c.attempts - 1)
            )

    def fail(self, intent_ids: Iterable[int], code: str, message: str) -> None:
        """The intents will never land (a decoded revert): say why, and free their keys and
        their request's rows (`store.settle`) so a corrected request can be made again."""
        ids = list(intent_ids)
        with self.engine.begin() as conn:
            for i in ids:
                conn.execute(
                    update(T_INTENT)
                    .where(T_INTENT.c.id == i)
                    .values(
                        state="failed",
                        error_code=code[:64],
                        error=message[:MAX_ERROR],
                        idem_key=T_INTENT.c.idem_key + f"#failed:{i}",
                        updated_at=now_ms(),
                    )
                )
            settle.failed(conn, ids, message)


def _intent_ids(conn: Connection, tx_id: int) -> list[int]:
    return [
        int(i)
        for i in conn.execute(select(T_INTENT.c.id).where(T_INTENT.c.tx_id == tx_id)).scalars()
    ]


def _requeue(conn: Connection, ids: list[int]) -> None:
    conn.execute(
        update(T_INTENT)
        .where(T_INTENT.c.id.in_(ids))
        .values(state="queued", tx_id=None, tx_hash=None, nonce=None, updated_at=now_ms())
    )


def reopen_lost(engine: Engine, head: int) -> int:
    """The chain was reloaded at `head` (an embedded chain's state saved before a crash): the
    transactions mined above it are gone. They become `sent` again, so the submitter finds no
    receipt and broadcasts the same signed bytes once more (same nonce, same intents: never a
    second issue). Returns how many."""
    with engine.begin() as conn:
        q = select(T_TX.c.id).where(T_TX.c.state == "mined", T_TX.c.block_number > head)
        ids = [int(r[0]) for r in conn.execute(q)]
        if not ids:
            return 0
        conn.execute(
            update(T_TX)
            .where(T_TX.c.id.in_(ids))
            .values(state="sent", block_number=None, gas_used=None, sent_at=0)
        )
        intents = [
            int(r[0]) for r in conn.execute(select(T_INTENT.c.id).where(T_INTENT.c.tx_id.in_(ids)))
        ]
        conn.execute(
            update(T_INTENT)
            .where(T_INTENT.c.id.in_(intents))
            .values(state="sent", block_number=None, updated_at=now_ms())
        )
        settle.reopened(conn, intents)
    return len(ids)
