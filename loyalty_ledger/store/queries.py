"""Read helpers over the mirror for the API, the audit and the CLI (every answer says its block)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select
from sqlalchemy.orm import Session

from . import models as m

_LEDGER = m.LedgerEntry.__table__  # type: ignore[attr-defined]
_STATE = m.IndexerState.__table__  # type: ignore[attr-defined]
_BAL = m.Balance.__table__  # type: ignore[attr-defined]
_PASS = m.Pass.__table__  # type: ignore[attr-defined]
_CS = m.ContractState.__table__  # type: ignore[attr-defined]
_LOT = m.PointLot.__table__  # type: ignore[attr-defined]
_EXCHANGE = m.Exchange.__table__  # type: ignore[attr-defined]

Db = Connection | Session
"""A connection or an ORM session: every helper only runs Core selects."""


def as_of(conn: Db) -> tuple[int, str | None] | None:
    """(block, hash) the mirror is true as of, or None before the first run."""
    row = conn.execute(select(_STATE.c.checkpoint_block, _STATE.c.checkpoint_hash)).first()
    return (row[0], row[1]) if row else None


def balance(conn: Db, *, token: str, holder: str) -> int:
    amount = conn.execute(
        select(_BAL.c.amount).where(_BAL.c.token == token.lower(), _BAL.c.holder == holder.lower())
    ).scalar()
    return int(amount or 0)


def pass_of(conn: Db, *, contract: str, owner: str) -> dict[str, Any] | None:
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
    conn: Db,
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


# ---------------------------------------------------------------- expiry (ERC-7818 lots)
# "Live" is as of the mirror's head: a lot is live while its expiry epoch is above the program's
# `swept_epoch` (the head block's epoch), or, given `now` (seconds), while it expires after now.


def expiry_policy(conn: Db, token: str) -> dict[str, int] | None:
    """The program's clock and policy (validity_epochs, epoch_zero, epoch_length, swept_epoch),
    or None while it never had an expiry policy (its points never expire)."""
    row = (
        conn.execute(
            select(
                _CS.c.validity_epochs, _CS.c.epoch_zero, _CS.c.epoch_length, _CS.c.swept_epoch
            ).where(_CS.c.address == token.lower())
        )
        .mappings()
        .first()
    )
    return dict(row) if row and row["epoch_length"] else None


def _swept(conn: Db, token: str) -> int:
    policy = expiry_policy(conn, token)
    return policy["swept_epoch"] if policy else 0


def _live(conn: Db, token: str, now: int | None) -> Any:
    if now is not None:
        return _LOT.c.expires_at > now
    return _LOT.c.expiry_epoch > _swept(conn, token)


def live_lots(conn: Db, token: str, holder: str, *, now: int | None = None) -> list[dict[str, int]]:
    """`holder`'s live lots (expiry_epoch, expires_at, amount), soonest to expire first; the
    permanent points are not among them (see `permanent_balance`)."""
    q = (
        select(_LOT.c.expiry_epoch, _LOT.c.expires_at, _LOT.c.amount)
        .where(
            _LOT.c.token == token.lower(),
            _LOT.c.holder == holder.lower(),
            _live(conn, token, now),
        )
        .order_by(_LOT.c.expiry_epoch)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def permanent_balance(conn: Db, token: str, holder: str) -> int:
    """`holder`'s points that never expire: the balance minus the live lots."""
    lots = sum(r["amount"] for r in live_lots(conn, token, holder))
    return balance(conn, token=token, holder=holder) - lots


def expiring_between(
    conn: Db, token: str, start: int, end: int, *, now: int | None = None
) -> dict[str, int]:
    """Per holder, the live points whose lot expires in [start, end) (seconds)."""
    q = select(_LOT.c.holder, _LOT.c.amount).where(
        _LOT.c.token == token.lower(),
        _LOT.c.expires_at >= start,
        _LOT.c.expires_at < end,
        _live(conn, token, now),
    )
    out: dict[str, int] = {}
    for holder, amount in conn.execute(q):
        out[holder] = out.get(holder, 0) + int(amount)
    return out


def expired_in(conn: Db, token: str, start: int, end: int, *, now: int | None = None) -> int:
    """Points that expired unspent with their lot's expiry in [start, end) and by `now` (default:
    by the mirror's head), over every holder: the breakage of that period."""
    cond = (
        _LOT.c.expires_at <= now if now is not None else _LOT.c.expiry_epoch <= _swept(conn, token)
    )
    q = select(_LOT.c.amount).where(
        _LOT.c.token == token.lower(),
        _LOT.c.expires_at >= start,
        _LOT.c.expires_at < end,
        cond,
    )
    if now is None and expiry_policy(conn, token) is None:
        return 0
    return sum(int(a) for a in conn.execute(q).scalars())


# ---------------------------------------------------------------- coalition exchange


def exchanges(conn: Db) -> list[dict[str, Any]]:
    """Every exchange row (terms, approvals, pauses, points issued), by id."""
    return [dict(r) for r in conn.execute(select(_EXCHANGE).order_by(_EXCHANGE.c.id)).mappings()]


def exchange(conn: Db, exchange_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(_EXCHANGE).where(_EXCHANGE.c.id == exchange_id)).mappings().first()
    return dict(row) if row else None
