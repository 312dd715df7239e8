"""`loyalty points policy|lots`: a brand's expiry policy and a member's points by expiry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from loyalty_ledger.cli.context import Ctx, Key, _emit, _run, _tx
from loyalty_ledger.cli.points import points_app

if TYPE_CHECKING:
    pass


@points_app.command("policy")
def points_policy(
    ctx: typer.Context,
    brand: str,
    epochs: Annotated[
        int | None, typer.Option(help="Validity of newly issued points in epochs; 0 = never.")
    ] = None,
    key: Key = None,
) -> None:
    """Show the expiry policy, or set it with --epochs (brand admin; not retroactive)."""
    from loyalty_ledger.ledger import lots

    def run(c: Ctx) -> None:
        program = c.program(brand)
        if epochs is not None:
            r = lots.set_validity_duration(
                sender=c.sender(f"brand:{brand}", key), program=program, epochs=epochs
            )
            _emit(
                c,
                {"brand": brand, "validity_epochs": epochs, **r.as_dict()},
                f"{brand} points issued from now on {_validity(epochs)} {_tx(r)}",
            )
            return
        p = lots.policy_of(w3=c.w3, program=program)
        _emit(
            c,
            {"brand": brand, **p.as_dict()},
            f"{brand}: issued points {_validity(p.validity_epochs)}; now epoch "
            f"{p.current_epoch} of {_duration(p.epoch_length)} each",
        )

    _run(ctx, run)


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    return f"{days} days" if days and not rest else f"{seconds} seconds"


def _validity(epochs: int) -> str:
    return "never expire" if epochs == 0 else f"stay valid {epochs} epochs"


@points_app.command("lots")
def points_lots(ctx: typer.Context, brand: str, member: str) -> None:
    """A member's live points by expiry, soonest first, and those that never expire."""
    from loyalty_ledger.ledger import lots

    def run(c: Ctx) -> None:
        held = lots.lots_of(w3=c.w3, program=c.program(brand), member=member)
        lines = [f"{held.member} holds {held.total} {brand} points"]
        lines += [
            f"  {lot.amount:>10} expire at {_utc(lot.expires_at)} (epoch {lot.expiry_epoch})"
            for lot in held.lots
        ]
        if held.permanent:
            lines.append(f"  {held.permanent:>10} never expire")
        _emit(c, {"brand": brand, **held.as_dict()}, "\n".join(lines))

    _run(ctx, run)


def _utc(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
