"""The coalition exchange in derived state: one `exchange` row per id (a pure fold, like
`derive.apply`). The two sides of a swap in the history: `ledger_rows`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .decode import Decoded
    from .state import State

EVENTS = frozenset(
    {"ExchangeRegistered", "ExchangeApproved", "ExchangeOpened", "ExchangePauseSet", "Swapped"}
)
DEFAULTS: dict[str, Any] = {
    "from_brand": "",
    "to_brand": "",
    "rate_from": 0,
    "rate_to": 0,
    "daily_cap": 0,
    "budget": 0,
    "issued": 0,
    "approved_from": False,
    "approved_to": False,
    "paused_from": False,
    "paused_to": False,
    "paused_operator": False,
    "opened_block": None,
    "block_number": 0,
}
EXCHANGE_REASON = "0x" + b"exchange".ljust(32, b"\0").hex()
"""PointsIssued's reason on the receiving side of a swap (`exchangeIn`)."""
ZERO32 = "0x" + "0" * 64


def apply_event(state: State, ev: Decoded) -> None:
    """Fold one exchange event into its `exchange` row."""
    a, b, name = ev.args, ev.block_number, ev.event
    key = (a["id"],)
    if name == "ExchangeRegistered":
        row = DEFAULTS | {
            "from_brand": a["fromBrand"],
            "to_brand": a["toBrand"],
            "rate_from": a["rateFrom"],
            "rate_to": a["rateTo"],
            "daily_cap": a["dailyCap"],
            "budget": a["budget"],
            "block_number": b,
        }
        state.put("exchange", key, row, b)
        return
    old = state.get("exchange", key)
    if old is None:  # an exchange registered before the mirror's start: nothing to amend
        return
    row = dict(old)
    if name == "ExchangeApproved":
        if a["brandId"] == row["from_brand"]:
            row["approved_from"] = True
        if a["brandId"] == row["to_brand"]:
            row["approved_to"] = True
    elif name == "ExchangeOpened":
        row["opened_block"] = b
    elif name == "ExchangePauseSet":
        side = {ZERO32: "paused_operator", row["from_brand"]: "paused_from"}
        side[row["to_brand"]] = "paused_to"
        flag = side.get(a["brandId"])
        if flag is None:
            return
        row[flag] = a["paused"]
    elif name == "Swapped":
        row["issued"] = row["issued"] + a["amountOut"]
    state.put("exchange", key, row, b)
