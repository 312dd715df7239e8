"""The mirror's rows, loaded read-only; the replayed state in their shape; value normalisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

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


@dataclass(slots=True)
class Mirror:
    """The mirror's rows, loaded once (keys and values normalised)."""

    url: str
    state: dict[str, Any] | None
    blocks: dict[int, tuple[str, str]]  # number -> (hash, parent hash)
    events: dict[Key, dict[str, Any]]  # (block, log index) -> row
    tables: dict[str, dict[Key, dict[str, Any]]] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)

    @property
    def checkpoint_block(self) -> int | None:
        return None if self.state is None else int(self.state["checkpoint_block"])

    @classmethod
    def load(cls, url: str) -> Mirror:
        from loyalty_ledger.store import make_engine, metadata

        engine = make_engine(url)
        t = metadata.tables
        try:
            with engine.connect() as c:
                st = c.execute(select(t["indexer_state"])).mappings().first()
                blocks = {
                    int(r.number): (r.hash.lower(), r.parent_hash.lower())
                    for r in c.execute(select(t["block"]))
                }
                events = {
                    (int(r["block_number"]), int(r["log_index"])): dict(r)
                    for r in c.execute(select(t["event"])).mappings()
                }
                spec = {
                    "program": ("brand_id",),
                    "contract_state": ("address",),
                    "balance": ("token", "holder"),
                    "pass": ("contract", "token_id"),
                    "tier": ("contract", "tier"),
                    "member": ("address",),
                    "role": ("contract", "role", "account"),
                    "role_admin": ("contract", "role"),
                    "point_lot": ("token", "holder", "expiry_epoch"),
                    "exchange": ("id",),
                }
                tables: dict[str, dict[Key, dict[str, Any]]] = {}
                for name, keys in spec.items():
                    rows = c.execute(select(t[name])).mappings()
                    tables[name] = {
                        tuple(norm(r[k]) for k in keys): {
                            k: norm_column(k, v) for k, v in r.items() if k not in keys
                        }
                        for r in rows
                    }
                ledger = [dict(r) for r in c.execute(select(t["ledger_entry"])).mappings()]
        finally:
            engine.dispose()
        return cls(url, dict(st) if st else None, blocks, events, tables, ledger)
