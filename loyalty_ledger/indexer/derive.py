"""Derived state as a pure fold over decoded events: balances, supply, passes, members, roles,
expiry lots (`lots`) and exchanges (`exchanges`).

`keys_needed` says which rows a batch reads; `apply` folds the events into a `State` (rows by
table and key, None when absent). The sink loads the rows, runs `apply`, and writes back what
changed, keeping an undo journal inside the reorg window. `clocked` is the set of points
contracts with an expiry clock: only their Transfers read and write lots.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import exchanges, lots
from .decode import Decoded
from .state import ZERO, Key, State

# table → (key columns, value columns with defaults)
TABLES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "balance": (("token", "holder"), {"amount": 0}),
    "contract_state": (
        ("address",),
        {
            "total_supply": 0,
            "paused": False,
            "transferable": False,
            "tier_count": 0,
            "validity_epochs": 0,
            "epoch_zero": 0,
            "epoch_length": 0,
            "swept_epoch": 0,
        },
    ),
    "pass": (
        ("contract", "token_id"),
        {"owner": ZERO, "tier": 0, "expires_at": 0, "locked": True},
    ),
    "tier": (("contract", "tier"), {"name": ""}),
    "member": (("address",), {"registered": False, "frozen": False, "recovered_to": None}),
    "role": (("contract", "role", "account"), {}),
    "role_admin": (("contract", "role"), {"admin_role": ""}),
    "program": (
        ("brand_id",),
        {"points": "", "pass_address": "", "admin": "", "name": "", "block_number": 0},
    ),
    "point_lot": (("token", "holder", "expiry_epoch"), {"expires_at": 0, "amount": 0}),
    "exchange": (("id",), exchanges.DEFAULTS),
    # Rollups of the points history (`rollups`): folded with the entries, journaled alike.
    "ledger_month": (("token", "month", "kind"), {"entries": 0, "amount": 0}),
    "gift_party": (("token", "member"), {"sent": 0, "received": 0}),
}


# Events that change no derived row (the points history is `ledger_rows`): skipped at once.
SKIP = frozenset(
    {
        "Approval",
        "ApprovalForAll",
        "PointsIssued",
        "PointsRedeemed",
        "PointsForfeited",
        "PointsGifted",
        "PointsRecovered",
        "ExecutedForwardRequest",
        "EIP712DomainChanged",
        "MetadataUpdate",
        "BatchMetadataUpdate",
    }
)


def keys_needed(
    events: Iterable[Decoded], clocked: frozenset[str] | set[str] = frozenset()
) -> tuple[dict[str, set[Key]], set[str]]:
    """Rows the batch reads, and pass contracts whose every pass it reads (transferability).

    For `point_lot` the keys are (token, holder) prefixes: every lot of that holder.
    """
    need: dict[str, set[Key]] = {t: set() for t in TABLES}
    whole_pass: set[str] = set()
    clocks = set(clocked)
    for ev in events:
        if ev.spec is None or ev.event in SKIP:
            continue
        a, c, name = ev.args, ev.contract, ev.event
        if name == "Transfer":
            if len(ev.spec.indexed) == 2:
                for who in (a["from"], a["to"]):
                    if who != ZERO:
                        need["balance"].add((c, who))
                need["contract_state"].add((c,))
                if c in clocks:
                    need["point_lot"].update(lots.lot_holders(ev))
            else:
                need["pass"].add((c, a["tokenId"]))
                need["contract_state"].add((c,))
        elif name in (
            "PassIssued",
            "PassTierChanged",
            "PassRenewed",
            "PassRevoked",
            "PassRecovered",
        ):
            need["pass"].add((c, a["tokenId"]))
            need["contract_state"].add((c,))
        elif name in ("Locked", "Unlocked"):
            need["pass"].add((c, a["tokenId"]))
        elif name == "TransferabilityChanged":
            need["contract_state"].add((c,))
            whole_pass.add(c)
        elif name == "TierAdded":
            need["tier"].add((c, a["tier"]))
            need["contract_state"].add((c,))
        elif name in ("Paused", "Unpaused"):
            need["contract_state"].add((c,))
        elif name in ("RoleGranted", "RoleRevoked"):
            need["role"].add((c, a["role"], a["account"]))
        elif name == "RoleAdminChanged":
            need["role_admin"].add((c, a["role"]))
        elif name in ("MemberRegistered", "MemberDeregistered", "MemberFrozen", "MemberUnfrozen"):
            need["member"].add((a["member"],))
        elif name == "MemberRecovered":
            need["member"].add((a["lostWallet"],))
        elif name == "ProgramRegistered":
            need["program"].add((a["brandId"],))
        elif name == "ExpiryPolicySet":
            need["contract_state"].add((c,))
            clocks.add(c)
        elif name in exchanges.EVENTS:
            need["exchange"].add((a["id"],))
    return need, whole_pass


def _upd(state: State, tbl: str, key: Key, block: int, **changes: Any) -> None:
    row = state.get(tbl, key)
    new = dict(TABLES[tbl][1]) if row is None else dict(row)
    new.update(changes)
    state.put(tbl, key, new, block)


def apply(state: State, events: Iterable[Decoded], clocked: set[str] | None = None) -> None:
    """Fold `events` (in chain order) into `state`; `clocked` (points contracts with an expiry
    clock) gains the programs whose first ExpiryPolicySet is among them."""
    clocked = set() if clocked is None else clocked
    pending: lots.Pending = {}
    for ev in events:
        if ev.spec is None or ev.event in SKIP:
            continue
        a, c, b, name = ev.args, ev.contract, ev.block_number, ev.event
        if name == "Transfer" and len(ev.spec.indexed) == 2:
            frm, to, v = a["from"], a["to"], a["value"]
            if c in clocked:
                _move_lots(state, ev, pending)
            if frm == ZERO or to == ZERO:
                cs = state.get("contract_state", (c,)) or TABLES["contract_state"][1]
                delta = v if frm == ZERO else -v
                _upd(state, "contract_state", (c,), b, total_supply=cs["total_supply"] + delta)
            for who, sign in ((frm, -1), (to, 1)):
                if who == ZERO:
                    continue
                row = state.get("balance", (c, who))
                amount = (row["amount"] if row else 0) + sign * v
                state.put("balance", (c, who), {"amount": amount} if amount else None, b)
        elif name == "Transfer":
            frm, to, tid = a["from"], a["to"], a["tokenId"]
            if to == ZERO:
                state.put("pass", (c, tid), None, b)
            elif frm == ZERO or state.get("pass", (c, tid)) is None:
                cs = state.get("contract_state", (c,)) or TABLES["contract_state"][1]
                row = {"owner": to, "tier": 0, "expires_at": 0, "locked": not cs["transferable"]}
                state.put("pass", (c, tid), row, b)
            else:
                _upd(state, "pass", (c, tid), b, owner=to)
        elif name == "PassIssued":
            _upd(
                state,
                "pass",
                (c, a["tokenId"]),
                b,
                owner=a["member"],
                tier=a["tier"],
                expires_at=a["expiresAt"],
            )
        elif name == "PassTierChanged":
            _upd(state, "pass", (c, a["tokenId"]), b, tier=a["toTier"])
        elif name == "PassRenewed":
            _upd(state, "pass", (c, a["tokenId"]), b, expires_at=a["expiresAt"])
        elif name == "PassRevoked":
            state.put("pass", (c, a["tokenId"]), None, b)
        elif name == "PassRecovered":
            _upd(state, "pass", (c, a["tokenId"]), b, owner=a["newWallet"])
        elif name in ("Locked", "Unlocked"):
            if state.get("pass", (c, a["tokenId"])) is not None:
                _upd(state, "pass", (c, a["tokenId"]), b, locked=name == "Locked")
        elif name == "TransferabilityChanged":
            _upd(state, "contract_state", (c,), b, transferable=a["transferable"])
            for key in state.keys_of("pass", (c,)):
                _upd(state, "pass", key, b, locked=not a["transferable"])
        elif name == "TierAdded":
            state.put("tier", (c, a["tier"]), {"name": a["name"]}, b)
            cs = state.get("contract_state", (c,)) or TABLES["contract_state"][1]
            _upd(state, "contract_state", (c,), b, tier_count=max(cs["tier_count"], a["tier"] + 1))
        elif name in ("Paused", "Unpaused"):
            _upd(state, "contract_state", (c,), b, paused=name == "Paused")
        elif name == "RoleGranted":
            state.put("role", (c, a["role"], a["account"]), {}, b)
        elif name == "RoleRevoked":
            state.put("role", (c, a["role"], a["account"]), None, b)
        elif name == "RoleAdminChanged":
            state.put("role_admin", (c, a["role"]), {"admin_role": a["newAdminRole"]}, b)
        elif name == "MemberRegistered":
            _upd(state, "member", (a["member"],), b, registered=True)
        elif name == "MemberDeregistered":
            _upd(state, "member", (a["member"],), b, registered=False)
        elif name == "MemberFrozen":
            _upd(state, "member", (a["member"],), b, frozen=True)
        elif name == "MemberUnfrozen":
            _upd(state, "member", (a["member"],), b, frozen=False)
        elif name == "MemberRecovered":
            _upd(
                state,
                "member",
                (a["lostWallet"],),
                b,
                registered=False,
                recovered_to=a["newWallet"],
            )
        elif name == "ProgramRegistered":
            row = {
                "points": a["points"],
                "pass_address": a["pass"],
                "admin": a["admin"],
                "name": a["name"],
                "block_number": b,
            }
            state.put("program", (a["brandId"],), row, b)
        elif name == "ExpiryPolicySet":
            lots.set_policy(state, ev, TABLES["contract_state"][1])
            clocked.add(c)
        elif name == "TransferAtEpoch":
            lots.at_epoch(pending, ev)
        elif name in exchanges.EVENTS:
            exchanges.apply_event(state, ev)


def _move_lots(state: State, ev: Decoded, pending: lots.Pending) -> None:
    """The lots side of a Transfer of a clocked program (before its balances change)."""
    c = ev.contract
    cs = state.get("contract_state", (c,))
    if cs is None:
        return
    frm = ev.args["from"]
    row = state.get("balance", (c, frm)) if frm != ZERO else None
    lots.move(state, ev, cs, row["amount"] if row else 0, pending)
