"""Read helpers over the mirror for the API, the audit and the CLI (every answer says its block)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from . import models as m

_LEDGER = m.LedgerEntry.__table__  # type: ignore[attr-defined]
_STATE = m.IndexerState.__table__  # type: ignore[attr-defined]
_BAL = m.Balance.__table__  # type: ignore[attr-defined]
_PASS = m.Pass.__table__  # type: ignore[attr-defined]


def as_of(conn: Connection) -> tuple[int, str | None] | None:
    """(block, hash) the mirror is true as of, or None before the first run."""
    row = conn.execute(select(_STATE.c.checkpoint_block, _STATE.c.checkpoint_hash)).first()
    return (row[0], row[1]) if row else None


def balance(conn: Connection, *, token: str, holder: str) -> int:
    amount = conn.execute(
        select(_BAL.c.amount).where(_BAL.c.token == token.lower(), _BAL.c.holder == holder.lower())
    ).scalar()
    return int(amount or 0)


def pass_of(conn: Connection, *, contract: str, owner: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(_PASS).where(
                _PASS.c.contract == contract.lower(), _PASS.c.owner == owner.lower()
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def history(
    conn: Connection,
    *,
    token: str,
    account: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """A page of a program's points history, newest first; pass the last id as `before_id`."""
    q = select(_LEDGER).where(_LEDGER.c.token == token.lower())
    if account is not None:
        a = account.lower()
        q = q.where(or_(_LEDGER.c.account == a, _LEDGER.c.counterparty == a))
    if before_id is not None:
        q = q.where(_LEDGER.c.id < before_id)
    q = q.order_by(_LEDGER.c.id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(q).mappings()]
