"""The points history (`ledger_entry`) of a batch of decoded events: one line per domain event,
and one per plain ERC-20 transfer that no gift or recovery explains."""

from __future__ import annotations

from typing import Any

from ..validate import text32  # the one text form of bytes32 codes, shared with the audit
from .decode import Decoded
from .exchanges import EXCHANGE_REASON

ZERO = "0x" + "0" * 40
Row = dict[str, Any]


def _is_erc20_transfer(ev: Decoded) -> bool:
    return ev.event == "Transfer" and ev.spec is not None and len(ev.spec.indexed) == 2


def _paired(events: list[Decoded]) -> set[tuple[int, int]]:
    """ERC-20 Transfers explained by a gift / recovery event beside them."""
    paired: set[tuple[int, int]] = set()
    for i, ev in enumerate(events):
        if ev.event in ("PointsGifted", "PointsRecovered"):
            for j in (i - 1, i + 1):
                if 0 <= j < len(events):
                    o = events[j]
                    if (
                        _is_erc20_transfer(o)
                        and o.contract == ev.contract
                        and o.tx_hash == ev.tx_hash
                    ):
                        paired.add((o.block_number, o.log_index))
                        break
    return paired


def ledger_entries(events: list[Decoded], exchanges: frozenset[str] = frozenset()) -> list[Row]:
    """The points history lines of a batch of events (in chain order).

    A PointsRedeemed by one of `exchanges` is a `swap_out`, a PointsIssued for reason
    "exchange" a `swap_in`; both keep the raw bytes32 ref (the exchange id).
    """
    out: list[Row] = []
    paired = _paired(events)
    for ev in events:
        a, name = ev.args, ev.event
        base = {
            "block_number": ev.block_number,
            "log_index": ev.log_index,
            "tx_hash": ev.tx_hash,
            "token": ev.contract,
            "counterparty": None,
            "reason": None,
            "ref": None,
            "memo": None,
            "by": None,
            "block_time": ev.block_time,
        }
        if name == "PointsIssued":
            swap = a["reason"] == EXCHANGE_REASON
            out.append(
                base
                | {
                    "kind": "swap_in" if swap else "issue",
                    "account": a["member"],
                    "amount": a["amount"],
                    "reason": text32(a["reason"]),
                    "ref": a["ref"] if swap else text32(a["ref"]),
                }
            )
        elif name == "PointsRedeemed":
            swap = a["by"] in exchanges
            out.append(
                base
                | {
                    "kind": "swap_out" if swap else "redeem",
                    "account": a["member"],
                    "amount": a["amount"],
                    "ref": a["ref"] if swap else text32(a["ref"]),
                    "by": a["by"],
                }
            )
        elif name == "PointsForfeited":
            out.append(
                base
                | {
                    "kind": "forfeit",
                    "account": a["member"],
                    "amount": a["amount"],
                    "reason": text32(a["reason"]),
                    "by": a["by"],
                }
            )
        elif name == "PointsGifted":
            out.append(
                base
                | {
                    "kind": "gift",
                    "account": a["from"],
                    "counterparty": a["to"],
                    "amount": a["amount"],
                    "memo": a["memo"],
                }
            )
        elif name == "PointsRecovered":
            out.append(
                base
                | {
                    "kind": "recovery",
                    "account": a["lostWallet"],
                    "counterparty": a["newWallet"],
                    "amount": a["amount"],
                }
            )
        elif (
            name == "Transfer"
            and ev.spec is not None
            and len(ev.spec.indexed) == 2
            and a["from"] != ZERO
            and a["to"] != ZERO
            and (ev.block_number, ev.log_index) not in paired
        ):
            out.append(
                base
                | {
                    "kind": "transfer",
                    "account": a["from"],
                    "counterparty": a["to"],
                    "amount": a["value"],
                }
            )
    return out
