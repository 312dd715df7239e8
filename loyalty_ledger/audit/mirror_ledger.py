"""The points history (`ledger_entry`) the mirror must hold, from the audit's own events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .decode import ZERO_ADDRESS, Event, Kind, bytes32_text
from .mirror_rows import Key
from .replay_exchange import EXCHANGE_REASON

LEDGER_FIELDS = (
    "tx_hash",
    "token",
    "kind",
    "account",
    "counterparty",
    "amount",
    "reason",
    "ref",
    "memo",
    "by",
    "block_time",
)
# Domain event -> (kind, account arg, counterparty arg, amount arg, extra args)
_HISTORY = {
    "PointsIssued": ("issue", "member", None, ("reason", "ref")),
    "PointsRedeemed": ("redeem", "member", None, ("ref", "by")),
    "PointsForfeited": ("forfeit", "member", None, ("reason", "by")),
    "PointsGifted": ("gift", "from", "to", ("memo",)),
    "PointsRecovered": ("recovery", "lostWallet", "newWallet", ()),
}


def _swap_kind(ev: Event, exchanges: set[str]) -> str | None:
    """`swap_out` for a burn by an exchange, `swap_in` for an issue for reason "exchange"."""
    if ev.name == "PointsRedeemed" and ev.args["by"] in exchanges:
        return "swap_out"
    if ev.name == "PointsIssued" and bytes32_text(ev.args["reason"]) == EXCHANGE_REASON:
        return "swap_in"
    return None


def ledger_rows(events: Iterable[Event], exchanges: set[str]) -> dict[Key, dict[str, Any]]:
    """One row per issue, redemption, forfeiture, gift, recovery and swap side (at its domain
    event), and one per plain transfer (at its Transfer, when no gift or recovery of the same
    parties and amount is in the same transaction). A swap side keeps its raw bytes32 ref (the
    exchange id); `exchanges` are the accounts whose burns are swaps."""
    events = list(events)
    rows: dict[Key, dict[str, Any]] = {}
    explained: set[tuple[str, str, str, str, int]] = set()
    for ev in events:
        if ev.kind is Kind.POINTS and ev.name in ("PointsGifted", "PointsRecovered"):
            a = ev.args
            frm, to = (a["from"], a["to"]) if "from" in a else (a["lostWallet"], a["newWallet"])
            explained.add((ev.log.tx_hash, ev.log.address, frm, to, a["amount"]))
    for ev in events:
        if ev.kind is not Kind.POINTS:
            continue
        a, log = ev.args, ev.log
        row: dict[str, Any] = dict.fromkeys(LEDGER_FIELDS)
        row |= {"tx_hash": log.tx_hash, "token": log.address, "block_time": log.block_time}
        spec = _HISTORY.get(ev.name)
        if spec is not None:
            kind, acct, other, extra = spec
            swap = _swap_kind(ev, exchanges)
            row |= {
                "kind": swap or kind,
                "account": a[acct],
                "amount": a["amount"],
                "counterparty": a[other] if other else None,
            }
            for f in extra:
                raw = f == "ref" and swap is not None
                row[f] = bytes32_text(a[f]) if f in ("reason", "ref") and not raw else a[f]
        elif ev.name == "Transfer" and ZERO_ADDRESS not in (a["from"], a["to"]):
            if (log.tx_hash, log.address, a["from"], a["to"], a["value"]) in explained:
                continue
            row |= {
                "kind": "transfer",
                "account": a["from"],
                "counterparty": a["to"],
                "amount": a["value"],
            }
        else:
            continue
        rows[(log.block_number, log.log_index)] = row
    return rows
