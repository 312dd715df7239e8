"""The recomputed state as JSON-ready data: programs with their books, expiry and breakage,
passes, members, roles and the coalition exchanges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .decode import bytes32_text
from .state import ExchangeBook, LedgerState, PointsBook


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def liability(pts: PointsBook) -> dict[str, Any]:
    """The books of one program: issued + swapped in = redeemed + swapped out + forfeited +
    expired + outstanding (issued and redeemed here exclude the swaps)."""
    rate = pts.breakage_rate
    return {
        "issued": pts.issued - pts.swapped_in,
        "swapped_in": pts.swapped_in,
        "redeemed": pts.redeemed - pts.swapped_out,
        "swapped_out": pts.swapped_out,
        "forfeited": pts.forfeited,
        "expired": pts.expired,
        "outstanding": pts.outstanding,
        "breakage_rate": None if rate is None else round(rate, 6),
        "gifted": pts.gifted,
        "recovered": pts.recovered,
        "issued_by_reason": dict(sorted(pts.issued_by_reason.items())),
        "forfeited_by_reason": dict(sorted(pts.forfeited_by_reason.items())),
    }


def expiry(pts: PointsBook) -> dict[str, Any]:
    """The program's clock and policy, and what expired per period (one expiry epoch each):
    the amount, and the breakage of that cohort (expired / issued into that lot)."""
    if not pts.clocked:
        return {"policy": False}
    clock = pts.lots.clock
    periods = []
    for x in sorted(pts.expired_by_epoch.keys() | pts.credited_by_expiry.keys()):
        if x > pts.epoch_at_finish:
            continue  # not expired yet
        credited = pts.credited_by_expiry.get(x, 0)
        amount = pts.expired_by_epoch.get(x, 0)
        periods.append(
            {
                "epoch": x,
                "from": _iso(clock.start(x)),
                "to": _iso(clock.start(x + 1) - 1),
                "expired": amount,
                "issued_into": credited,
                "breakage_rate": round(amount / credited, 6) if credited else None,
            }
        )
    return {
        "policy": True,
        "validity_epochs": pts.lots.validity,
        "epoch_zero": clock.zero,
        "epoch_length": clock.length,
        "epoch": pts.epoch_at_finish,
        "policies": [
            {"block": p.block, "validity": p.validity, "from_epoch": p.from_epoch, "by": p.by}
            for p in pts.policies
        ],
        "periods": periods,
    }


def exchange(ex: ExchangeBook) -> dict[str, Any]:
    return {
        "address": ex.address,
        "id": ex.id,
        "from": bytes32_text(ex.from_brand),
        "to": bytes32_text(ex.to_brand),
        "rate": [ex.rate_from, ex.rate_to],
        "daily_cap": ex.daily_cap,
        "budget": ex.budget,
        "open": ex.is_open,
        "swaps": ex.swaps,
        "amount_in": ex.burned,
        "amount_out": ex.issued,
        "burned_on_from_side": ex.side_out,
        "issued_on_to_side": ex.side_in,
        "budget_left": ex.budget - ex.issued,
    }


def summarise_state(state: LedgerState) -> dict[str, Any]:
    """The recomputed state as JSON-ready data (addresses and ids as hex strings)."""
    programs = []
    for prog in state.programs.values():
        pts = state.points.get(prog.points)
        pas = state.passes.get(prog.pass_)
        programs.append(
            {
                "brand_id": prog.brand_id,
                "brand": bytes32_text(prog.brand_id),
                "name": prog.name,
                "points": prog.points,
                "pass": prog.pass_,
                "admin": prog.admin,
                "block": prog.block,
                "total_supply": pts.total_supply if pts else 0,
                "liability": liability(pts) if pts else {},
                "expiry": expiry(pts) if pts else {"policy": False},
                "paused": pts.paused if pts else False,
                "holders": sum(1 for b in pts.balances.values() if b) if pts else 0,
                "balances": {h: b for h, b in sorted(pts.balances.items()) if b} if pts else {},
                "transferable": pas.transferable if pas else False,
                "tiers": {str(k): v for k, v in sorted(pas.tiers.items())} if pas else {},
                "passes": [
                    {
                        "token_id": r.token_id,
                        "owner": r.owner,
                        "tier": r.tier,
                        "expires_at": r.expires_at,
                        "locked": r.locked,
                    }
                    for r in sorted(pas.passes.values(), key=lambda r: r.token_id)
                ]
                if pas
                else [],
            }
        )
    reg = state.members
    return {
        "block_time": state.block_time,
        "programs": programs,
        "exchanges": [exchange(ex) for _, ex in sorted(state.exchanges.items())],
        "members": {
            "registered": sorted(reg.members),
            "frozen": sorted(reg.frozen),
            "recoveries": [
                {"lost": r.lost, "new": r.new, "by": r.by, "block": r.block, "tx": r.tx}
                for r in reg.recoveries
            ],
        },
        "roles": [
            {"contract": c, "role": r, "holders": sorted(h)}
            for (c, r), h in sorted(state.roles.items())
            if h
        ],
        "events": state.events,
    }


def member_lots(state: LedgerState, member: str) -> dict[str, Any]:
    """One member's points per brand at the audited block: live lots, permanent, expired."""
    out: dict[str, Any] = {}
    m = member.lower()
    for pts in state.points.values():
        held = pts.lots.holdings.get(m)
        if held is None:
            continue
        expiries, amounts, permanent = pts.lots_of(m)
        clock = pts.lots.clock
        out[bytes32_text(pts.brand_id) if pts.brand_id else pts.address] = {
            "balance": pts.balances.get(m, 0),
            "permanent": permanent,
            "lots": [
                {"expiry_epoch": x, "expires_at": _iso(clock.start(x)), "amount": a}
                for x, a in zip(expiries, amounts, strict=True)
            ],
            "expired": held.expired(pts.epoch_at_finish) if pts.clocked else 0,
        }
    return out
