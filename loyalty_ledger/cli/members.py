"""`loyalty member ...`: register, freeze, recover members (the operator's commands)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from loyalty_ledger.cli.context import Ctx, Key, _emit, _run, _tx

if TYPE_CHECKING:
    from loyalty_ledger.chain.sender import Receipt

member_app = typer.Typer(no_args_is_help=True, help="Members of the network (operator).")


def _member_cmd(op_name: str, verb: str) -> Callable[..., None]:
    """A command that runs `ledger.<op_name>` on one member (imported when it runs)."""

    def command(ctx: typer.Context, address: str, key: Key = None) -> None:
        from loyalty_ledger import ledger
        from loyalty_ledger.validate import checksum_address

        op: Callable[..., Receipt] = getattr(ledger, op_name)

        def run(c: Ctx) -> None:
            r = op(sender=c.sender("operator", key), deployment=c.deployment(), member=address)
            _emit(
                c,
                {"member": checksum_address(address), **r.as_dict()},
                f"{verb} {checksum_address(address)} {_tx(r)}",
            )

        _run(ctx, run)

    command.__doc__ = f"{verb.capitalize()} a member (operator)."
    return command


member_app.command("register")(_member_cmd("register_member", "registered"))
member_app.command("deregister")(_member_cmd("deregister_member", "deregistered"))
member_app.command("freeze")(_member_cmd("freeze_member", "froze"))
member_app.command("unfreeze")(_member_cmd("unfreeze_member", "unfroze"))


@member_app.command("recover")
def member_recover(ctx: typer.Context, lost_wallet: str, new_wallet: str, key: Key = None) -> None:
    """Move every point and pass of a lost wallet to a new registered one (operator)."""
    from loyalty_ledger import ledger

    def run(c: Ctx) -> None:
        r = ledger.recover_member(
            sender=c.sender("operator", key),
            deployment=c.deployment(),
            lost_wallet=lost_wallet,
            new_wallet=new_wallet,
        )
        _emit(
            c,
            {"lost_wallet": lost_wallet, "new_wallet": new_wallet, **r.as_dict()},
            f"recovered {lost_wallet} → {new_wallet} {_tx(r)}",
        )

    _run(ctx, run)


@member_app.command("status")
def member_status(ctx: typer.Context, address: str) -> None:
    """Whether an address is a registered member, and frozen."""
    from loyalty_ledger import ledger

    def run(c: Ctx) -> None:
        s = ledger.member_status(w3=c.w3, deployment=c.deployment(), account=address)
        _emit(
            c,
            s.__dict__,
            f"{s.address}: {'member' if s.is_member else 'not a member'}"
            f"{', frozen' if s.frozen else ''}",
        )

    _run(ctx, run)
