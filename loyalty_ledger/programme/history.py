"""Ledger entries as a person reads them: the block's date, and a note that says what happened
(the gift's memo, the perk redeemed, the swap's brands and rate) instead of raw references."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from loyalty_ledger.store.models import Exchange
from loyalty_ledger.store.offchain import PerkRow, table

T_EXCHANGE = Exchange.__table__  # type: ignore[attr-defined]
PERK_PREFIX = "perk:"  # programme.perks.redemption_ref: a redemption's on-chain ref


def iso_time(ts: int | None) -> str | None:
    """Unix seconds as ISO 8601 UTC (`2025-06-01T09:30:00Z`); None stays None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _brand(raw: str) -> str:
    """A bytes32 brand id (0x hex in the mirror) as its text."""
    if not raw.startswith("0x"):
        return raw
    return bytes.fromhex(raw[2:]).rstrip(b"\0").decode("ascii", errors="replace")


def _exchange_id(ref: str | None) -> int | None:
    try:
        return int(ref, 16) if ref and ref.startswith("0x") else None
    except ValueError:
        return None


def _perk_id(ref: str | None) -> int | None:
    if ref and ref.startswith(PERK_PREFIX) and ref[len(PERK_PREFIX) :].isdigit():
        return int(ref[len(PERK_PREFIX) :])
    return None


def _lookups(
    conn: Connection, rows: list[dict[str, Any]]
) -> tuple[dict[int, str], dict[int, dict[str, Any]]]:
    """Perk names and exchange terms the rows refer to (two small queries at most)."""
    perk_ids: set[int] = set()
    swap_ids: set[int] = set()
    for r in rows:
        if r["kind"] == "redeem" and (pid := _perk_id(r.get("ref"))) is not None:
            perk_ids.add(pid)
        elif (
            r["kind"] in ("swap_in", "swap_out") and (xid := _exchange_id(r.get("ref"))) is not None
        ):
            swap_ids.add(xid)
    perks: dict[int, str] = {}
    if perk_ids:
        t = table(PerkRow)
        perks = dict(conn.execute(select(t.c.id, t.c.name).where(t.c.id.in_(perk_ids))).all())
    exchanges: dict[int, dict[str, Any]] = {}
    if swap_ids:
        q = select(T_EXCHANGE).where(T_EXCHANGE.c.id.in_(swap_ids))
        exchanges = {int(r["id"]): dict(r) for r in conn.execute(q).mappings()}
    return perks, exchanges


def _note(row: dict[str, Any], perks: dict[int, str], exchanges: dict[int, dict[str, Any]]) -> str:
    kind, ref = row["kind"], row.get("ref")
    if kind in ("swap_in", "swap_out"):
        xid = _exchange_id(ref)
        x = exchanges.get(xid) if xid is not None else None
        if x is None:
            return "partner swap" if xid is None else f"partner swap (exchange #{xid})"
        return (
            f"swap {_brand(x['from_brand'])} → {_brand(x['to_brand'])} at "
            f"{int(x['rate_from'])}:{int(x['rate_to'])} (exchange #{xid})"
        )
    if kind == "redeem":
        pid = _perk_id(ref)
        if pid is not None:
            return f"perk: {perks[pid]}" if pid in perks else f"perk #{pid}"
        return ref or ""
    if kind == "gift":
        return row.get("memo") or ""
    if kind in ("issue", "forfeit"):
        parts = [row.get("reason"), ref]
        return " · ".join(p for p in parts if p)
    return ""


def describe(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with `time` (ISO date of its block, when known) and a readable `note`."""
    perks, exchanges = _lookups(conn, rows)
    return [
        row | {"time": iso_time(row.get("block_time")), "note": _note(row, perks, exchanges)}
        for row in rows
    ]
