"""The replayed state in the shape of the mirror's rows, and value normalisation (the rows are
read by `mirror_read`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from loyalty_ledger.expiry import PERMANENT

from .decode import Event
from .state import ExchangeBook, LedgerState

Key = tuple[Any, ...]
TABLES = (
    "program",
    "contract_state",
    "balance",
    "point_lot",
    "exchange",
    "pass",
    "tier",
    "member",
    "role",
    "role_admin",
)


# Free text is compared exactly as written: a memo, a name, or a reason/reference in its
# `text32` form may look like hex ("0x9aC4...") without being a hex value.
TEXT_ARGS = frozenset({"name", "memo"})  # string event arguments
TEXT_COLUMNS = TEXT_ARGS | {"reason", "ref"}  # text columns (ledger_entry's codes as text32)


def norm(v: Any) -> Any:
    """Hex values lower-cased, decimals as int, text arguments (`TEXT_ARGS`) as written."""
    if isinstance(v, str):
        if v.startswith(("0x", "0X")):
            return v.lower()
        return v
    if isinstance(v, Decimal):
        return int(v)
    if isinstance(v, dict):
        return {k: x if k in TEXT_ARGS and isinstance(x, str) else norm(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [norm(x) for x in v]
    return v


def norm_column(column: str, v: Any) -> Any:
    """`norm` of a mirror column's value; text columns (`TEXT_COLUMNS`) as written."""
    return v if column in TEXT_COLUMNS and isinstance(v, str) else norm(v)


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


def exchange_row(ex: ExchangeBook) -> dict[str, Any]:
    return {
        "from_brand": ex.from_brand,
        "to_brand": ex.to_brand,
        "rate_from": ex.rate_from,
        "rate_to": ex.rate_to,
        "daily_cap": ex.daily_cap,
        "budget": ex.budget,
        "issued": ex.issued,
        "approved_from": ex.approved_from,
        "approved_to": ex.approved_to,
        "paused_from": ex.paused_from,
        "paused_to": ex.paused_to,
        "paused_operator": ex.paused_operator,
        "opened_block": ex.opened_block,
        "block_number": ex.block,
    }


def derived_rows(
    state: LedgerState, exchange: str | None = None
) -> tuple[dict[str, dict[Key, dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Rows the mirror's derived tables must hold, and per table the all-default row values
    that a mirror may leave out. `point_lot` holds every expiring lot with points left, expired
    ones included; `exchange` the exchanges of `exchange` (default: every exchange contract)."""
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
        clock = book.lots.clock
        t["contract_state"][(book.address,)] = {
            "total_supply": book.total_supply,
            "paused": book.paused,
            "validity_epochs": book.lots.validity,
            "epoch_zero": clock.zero if book.clocked else 0,
            "epoch_length": clock.length if book.clocked else 0,
            "swept_epoch": book.epoch_at_finish if book.clocked else 0,
        }
        for holder, amount in book.balances.items():
            if amount:
                t["balance"][(book.address, holder)] = {"amount": amount}
        for holder, held in book.lots.holdings.items() if book.clocked else ():
            for x, amt in held.lots.items():
                if x != PERMANENT and amt:
                    t["point_lot"][(book.address, holder, x)] = {
                        "expires_at": clock.start(x),
                        "amount": amt,
                    }
    for (addr, i), ex in state.exchanges.items():
        if exchange is None or addr == exchange:
            t["exchange"][(i,)] = exchange_row(ex)
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
    # A program whose points never moved (no Transfer, pause or policy yet) has no row.
    state_defaults: dict[str, Any] = {"paused": False, "transferable": False, "tier_count": 0}
    for f in ("total_supply", "validity_epochs", "epoch_zero", "epoch_length", "swept_epoch"):
        state_defaults[f] = 0
    defaults: dict[str, dict[str, Any]] = {
        "member": {"registered": False, "frozen": False, "recovered_to": None},
        "contract_state": state_defaults,
    }
    return t, defaults
