"""The points economy, pure: totals, redemption and breakage rates, flows per month, books.

Every rate of points has one denominator, the points credited: issued + swapped in. Breakage
counts the points that will never be redeemed: expired and forfeited (shown apart too).
Definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields

from .metrics import ratio
from .period import month_label


def rates(
    *, issued: int, swapped_in: int, redeemed: int, forfeited: int, expired: int
) -> dict[str, object]:
    """Redemption and breakage over the points credited (issued + swapped in)."""
    credited = issued + swapped_in
    return {
        "credited": credited,
        "breakage": expired + forfeited,
        "redemption_rate": ratio(redeemed, credited),
        "breakage_rate": ratio(expired + forfeited, credited),
        "expiry_breakage_rate": ratio(expired, credited),
        "forfeit_breakage_rate": ratio(forfeited, credited),
    }


def points_economy(
    *,
    totals: Mapping[str, int],
    counts: Mapping[str, int],
    liability: int,
    gift_senders: int,
    gift_receivers: int,
    tiers: Sequence[dict[str, object]],
    expired: int = 0,
) -> dict[str, object]:
    """Issued, redeemed, forfeited, expired, swapped, outstanding, gifts and tiers of a
    program's points (all time); `liability` is the live points outstanding."""
    issued = totals.get("issue", 0)
    redeemed = totals.get("redeem", 0)
    forfeited = totals.get("forfeit", 0)
    swapped_in, swapped_out = totals.get("swap_in", 0), totals.get("swap_out", 0)
    return {
        "issued": issued,
        "redeemed": redeemed,
        "forfeited": forfeited,
        "expired": expired,
        "swapped_in": swapped_in,
        "swapped_out": swapped_out,
        "outstanding_liability": liability,
        **rates(
            issued=issued,
            swapped_in=swapped_in,
            redeemed=redeemed,
            forfeited=forfeited,
            expired=expired,
        ),
        "swaps": {"in": counts.get("swap_in", 0), "out": counts.get("swap_out", 0)},
        "redemptions": counts.get("redeem", 0),
        "gifts": {
            "count": counts.get("gift", 0),
            "points": totals.get("gift", 0),
            "senders": gift_senders,
            "receivers": gift_receivers,
        },
        "transfers": {"count": counts.get("transfer", 0), "points": totals.get("transfer", 0)},
        "tiers": list(tiers),
        "books": books(
            issued=issued,
            swapped_in=swapped_in,
            redeemed=redeemed,
            swapped_out=swapped_out,
            forfeited=forfeited,
            expired=expired,
            outstanding=liability,
        ),
    }


@dataclass(frozen=True)
class MonthFlows:
    """Points that moved in one calendar month. Issued points of earn records are placed by
    the earning's own time (`issued_by_event`), every other entry by block time; expired
    points by their lot's expiry time."""

    month: int
    issued_by_event: int = 0
    issued_by_block: int = 0
    swapped_in: int = 0
    swapped_out: int = 0
    redeemed: int = 0
    forfeited: int = 0
    expired: int = 0

    @property
    def issued(self) -> int:
        return self.issued_by_event + self.issued_by_block


FLOW_FIELDS = tuple(f.name for f in fields(MonthFlows) if f.name != "month")
TIMING = (
    "points issued for an earn record (a purchase or a bonus) are placed at the order's or "
    "the bonus's own time; every other ledger entry at its block's time; expired points at "
    "their lot's expiry time"
)


def point_flows(months: Sequence[MonthFlows], partial: Collection[int] = ()) -> dict[str, object]:
    """Issued, swapped in/out, redeemed, forfeited and expired points over a period and per
    month, with the redemption and breakage rates of each."""

    def row(f: MonthFlows) -> dict[str, object]:
        return {
            "issued": f.issued,
            "issued_by_event_time": f.issued_by_event,
            "issued_by_block_time": f.issued_by_block,
            "swapped_in": f.swapped_in,
            "swapped_out": f.swapped_out,
            "redeemed": f.redeemed,
            "forfeited": f.forfeited,
            "expired": f.expired,
            **rates(
                issued=f.issued,
                swapped_in=f.swapped_in,
                redeemed=f.redeemed,
                forfeited=f.forfeited,
                expired=f.expired,
            ),
        }

    total = MonthFlows(0, **{k: sum(getattr(f, k) for f in months) for k in FLOW_FIELDS})
    return {
        **row(total),
        "timing": TIMING,
        "trend": [
            {"month": month_label(f.month), "partial": f.month in partial, **row(f)} for f in months
        ],
    }


def books(
    *,
    issued: int,
    swapped_in: int,
    redeemed: int,
    swapped_out: int,
    forfeited: int,
    expired: int,
    outstanding: int,
) -> dict[str, object]:
    """The points identity over a program's whole history:
    issued + swapped in = redeemed + swapped out + forfeited + expired + outstanding."""
    credits = issued + swapped_in
    debits = redeemed + swapped_out + forfeited + expired + outstanding
    return {
        "issued": issued,
        "swapped_in": swapped_in,
        "redeemed": redeemed,
        "swapped_out": swapped_out,
        "forfeited": forfeited,
        "expired": expired,
        "outstanding": outstanding,
        "credits": credits,
        "debits": debits,
        "difference": credits - debits,
        "balanced": credits == debits,
    }
