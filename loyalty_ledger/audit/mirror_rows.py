"""The replayed state in the shape of the mirror's rows, and value normalisation for comparing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .decode import Event
from .state import LedgerState

Key = tuple[Any, ...]
TABLES = ("program", "contract_state", "balance", "pass", "tier", "member", "role", "role_admin")


def norm(v: Any) -> Any:
    """Hex strings lower-cased, decimals and numeric text as int; everything else as is."""
    if isinstance(v, str):
        if v.startswith(("0x", "0X")):
            return v.lower()
        return v
    if isinstance(v, Decimal):
        return int(v)
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [norm(x) for x in v]
    return v


def event_row(ev: Event | dict[str, Any]) -> dict[str, Any]:
    """An event (ours, or a mirror row) as the comparable fields of an `event` row."""
    if isinstance(ev, Event):
        log = ev.log
        return {
            "block_hash": log.block_hash,
            "tx_hash": log.tx_hash,
            "tx_index": log.tx_index,
            "contract": log.address,
            "event": ev.name,
            "args": norm(ev.args),
        }
    return {
        "block_hash": norm(ev["block_hash"]),
        "tx_hash": norm(ev["tx_hash"]),
        "tx_index": int(ev["tx_index"]),
        "contract": norm(ev["contract"]),
        "event": ev["event"],
        "args": norm(dict(ev["args"] or {})),
    }


def derived_rows(
    state: LedgerState,
) -> tuple[dict[str, dict[Key, dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Rows the mirror's derived tables must hold, and per table the all-default row values
    that a mirror may leave out."""
    t: dict[str, dict[Key, dict[str, Any]]] = {n: {} for n in (*TABLES,)}
    for p in state.programs.values():
        t["program"][(p.brand_id,)] = {
            "points": p.points,
            "pass_address": p.pass_,
            "admin": p.admin,
            "name": p.name,
            "block_number": p.block,
        }
    for book in state.points.values():
        t["contract_state"][(book.address,)] = {
            "total_supply": book.total_supply,
            "paused": book.paused,
        }
        for holder, amount in book.balances.items():
            if amount:
                t["balance"][(book.address, holder)] = {"amount": amount}
    for pb in state.passes.values():
        t["contract_state"][(pb.address,)] = {
            "transferable": pb.transferable,
            "tier_count": max(pb.tiers) + 1 if pb.tiers else 0,
        }
        for tid, r in pb.passes.items():
            t["pass"][(pb.address, tid)] = {
                "owner": r.owner,
                "tier": r.tier,
                "expires_at": r.expires_at,
                "locked": r.locked,
            }
        for tier, name in pb.tiers.items():
            t["tier"][(pb.address, tier)] = {"name": name}
    reg = state.members
    for a in reg.seen | reg.frozen | reg.recovered_to.keys() | set(reg.recovered_to.values()):
        t["member"][(a,)] = {
            "registered": a in reg.members,
            "frozen": a in reg.frozen,
            "recovered_to": reg.recovered_to.get(a),
        }
    for (contract, role), holders in state.roles.items():
        for acct in holders:
            t["role"][(contract, role, acct)] = {}
    for (contract, role), admin in state.role_admin.items():
        t["role_admin"][(contract, role)] = {"admin_role": admin}
    defaults = {"member": {"registered": False, "frozen": False, "recovered_to": None}}
    return t, defaults
