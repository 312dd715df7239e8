"""A request's own rows follow its outbox intent: when the intent is mined, failed or reopened
(its block lost), every pending row that names the intent moves with it, in the same database
transaction as the intent's own state.

One `Settler` per table of request rows (earnings, perk redemptions); the submitter's queue
(`store.outbox.SqlOutbox`) calls `mined` / `failed` / `reopened` with the intent ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, select, update

from .offchain import EarnRecord, PerkRow, PerkUsage, PointHold, Redemption, table
from .rules_tables import release_lines

T_EARN, T_RED = table(EarnRecord), table(Redemption)
T_PERK, T_USAGE, T_HOLD = table(PerkRow), table(PerkUsage), table(PointHold)
CHUNK = 500

Ids = Sequence[int]


@dataclass(frozen=True)
class Settler:
    """What a table of request rows does when its intents settle."""

    mined: Callable[[Connection, Ids, str, int], None]
    failed: Callable[[Connection, Ids, str], None]
    reopened: Callable[[Connection, Ids], None]


def _chunks(ids: Ids) -> list[list[int]]:
    return [list(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)]


# --- earnings: confirmed when mined; released (the claim deleted) when failed -------------


def _earn_mined(conn: Connection, ids: Ids, tx_hash: str, block: int) -> None:
    for part in _chunks(ids):
        conn.execute(
            update(T_EARN)
            .where(T_EARN.c.intent_id.in_(part))
            .values(status="confirmed", tx_hash=tx_hash, block_number=block)
        )


def _earn_failed(conn: Connection, ids: Ids, _message: str) -> None:
    """Release the claims, and give back what their rule lines reserved (budgets, limits)."""
    for part in _chunks(ids):
        earn_ids = select(T_EARN.c.id).where(T_EARN.c.intent_id.in_(part))
        release_lines(conn, list(conn.execute(earn_ids).scalars()))
        conn.execute(delete(T_EARN).where(T_EARN.c.intent_id.in_(part)))


def _earn_reopened(conn: Connection, ids: Ids) -> None:
    for part in _chunks(ids):
        conn.execute(
            update(T_EARN)
            .where(T_EARN.c.intent_id.in_(part))
            .values(status="pending", block_number=None)
        )


# --- perk redemptions: confirmed (the hold goes: the points are burned) or failed (stock,
# --- the member's use and the hold are given back) ------------------------------------------


def _redemptions(conn: Connection, ids: Ids, status: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in _chunks(ids):
        q = select(T_RED).where(T_RED.c.intent_id.in_(part), T_RED.c.status == status)
        out += [dict(r) for r in conn.execute(q).mappings()]
    return out


def _hold(conn: Connection, row: dict[str, Any], delta: int) -> None:
    if "hold" not in (row["reserved"] or "") or not row["hold_token"]:
        return
    key = and_(T_HOLD.c.token == row["hold_token"], T_HOLD.c.member == row["member"].lower())
    res = conn.execute(update(T_HOLD).where(key).values(held=T_HOLD.c.held + delta))
    if res.rowcount == 0 and delta > 0:
        conn.execute(
            T_HOLD.insert().values(
                token=row["hold_token"], member=row["member"].lower(), held=delta
            )
        )
    conn.execute(delete(T_HOLD).where(key, T_HOLD.c.held <= 0))


def _red_mined(conn: Connection, ids: Ids, tx_hash: str, block: int) -> None:
    for row in _redemptions(conn, ids, "pending"):
        _hold(conn, row, -int(row["points"]))
        conn.execute(
            update(T_RED)
            .where(T_RED.c.id == row["id"])
            .values(status="confirmed", tx_hash=tx_hash, block_number=block)
        )


def _red_failed(conn: Connection, ids: Ids, message: str) -> None:
    for row in _redemptions(conn, ids, "pending"):
        taken = (row["reserved"] or "").split(",")
        if "stock" in taken:
            conn.execute(
                update(T_PERK)
                .where(T_PERK.c.id == row["perk_id"])
                .values(redeemed_count=T_PERK.c.redeemed_count - 1)
            )
        if "usage" in taken:
            conn.execute(
                update(T_USAGE)
                .where(
                    T_USAGE.c.perk_id == row["perk_id"], T_USAGE.c.member == row["member"].lower()
                )
                .values(used=T_USAGE.c.used - 1)
            )
        _hold(conn, row, -int(row["points"]))
        conn.execute(
            update(T_RED)
            .where(T_RED.c.id == row["id"])
            .values(status="failed", error=message[:500], reserved=None)
        )


def _red_reopened(conn: Connection, ids: Ids) -> None:
    for row in _redemptions(conn, ids, "confirmed"):
        _hold(conn, row, int(row["points"]))  # the burn is pending again: hold its points
        conn.execute(
            update(T_RED).where(T_RED.c.id == row["id"]).values(status="pending", block_number=None)
        )


SETTLERS = (
    Settler(_earn_mined, _earn_failed, _earn_reopened),
    Settler(_red_mined, _red_failed, _red_reopened),
)


def mined(conn: Connection, ids: Ids, *, tx_hash: str, block: int) -> None:
    for s in SETTLERS:
        s.mined(conn, ids, tx_hash, block)


def failed(conn: Connection, ids: Ids, message: str) -> None:
    for s in SETTLERS:
        s.failed(conn, ids, message)


def reopened(conn: Connection, ids: Ids) -> None:
    for s in SETTLERS:
        s.reopened(conn, ids)
