"""`loyalty pass …`: issue, upgrade, renew, revoke and show membership passes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from loyalty_ledger.cli.context import Ctx, Key, _emit, _run, _tx

if TYPE_CHECKING:
    pass

Tier = Annotated[str, typer.Option(help="Tier number or name.")]
pass_app = typer.Typer(no_args_is_help=True, help="Membership passes.")


@pass_app.command("issue")
def pass_issue(
    ctx: typer.Context,
    brand: str,
    member: str,
    tier: Tier = "0",
    expires_at: Annotated[int, typer.Option(help="Unix time; 0 never expires.")] = 0,
    key: Key = None,
) -> None:
    """Issue a membership pass (brand issuer)."""
    from loyalty_ledger.ledger import passes
    from loyalty_ledger.validate import checksum_address

    def run(c: Ctx) -> None:
        token_id, r = passes.issue_pass(
            sender=c.sender(f"brand:{brand}", key),
            program=c.program(brand),
            member=member,
            tier=tier,
            expires_at=expires_at,
        )
        _emit(
            c,
            {
                "brand": brand,
                "member": checksum_address(member),
                "token_id": token_id,
                **r.as_dict(),
            },
            f"issued pass #{token_id} to {checksum_address(member)} {_tx(r)}",
        )

    _run(ctx, run)


@pass_app.command("upgrade")
def pass_upgrade(ctx: typer.Context, brand: str, member: str, tier: str, key: Key = None) -> None:
    """Move a member's pass to another tier, up or down (brand issuer)."""
    from loyalty_ledger.ledger import passes
    from loyalty_ledger.validate import checksum_address

    def run(c: Ctx) -> None:
        r = passes.set_tier(
            sender=c.sender(f"brand:{brand}", key),
            program=c.program(brand),
            member=member,
            tier=tier,
        )
        _emit(
            c,
            {"brand": brand, "member": checksum_address(member), "tier": tier, **r.as_dict()},
            f"moved the pass of {checksum_address(member)} to {tier} {_tx(r)}",
        )

    _run(ctx, run)


@pass_app.command("renew")
def pass_renew(
    ctx: typer.Context, brand: str, member: str, expires_at: int, key: Key = None
) -> None:
    """Set a pass's expiry (unix time; 0 never expires)."""
    from loyalty_ledger.ledger import passes
    from loyalty_ledger.validate import checksum_address

    def run(c: Ctx) -> None:
        r = passes.renew_pass(
            sender=c.sender(f"brand:{brand}", key),
            program=c.program(brand),
            member=member,
            expires_at=expires_at,
        )
        _emit(
            c,
            {
                "brand": brand,
                "member": checksum_address(member),
                "expires_at": expires_at,
                **r.as_dict(),
            },
            f"renewed the pass of {checksum_address(member)} {_tx(r)}",
        )

    _run(ctx, run)


@pass_app.command("revoke")
def pass_revoke(ctx: typer.Context, brand: str, member: str, key: Key = None) -> None:
    """Revoke (burn) a member's pass."""
    from loyalty_ledger.ledger import passes
    from loyalty_ledger.validate import checksum_address

    def run(c: Ctx) -> None:
        r = passes.revoke_pass(
            sender=c.sender(f"brand:{brand}", key), program=c.program(brand), member=member
        )
        _emit(
            c,
            {"brand": brand, "member": checksum_address(member), **r.as_dict()},
            f"revoked the pass of {checksum_address(member)} {_tx(r)}",
        )

    _run(ctx, run)


@pass_app.command("show")
def pass_show(ctx: typer.Context, brand: str, member: str) -> None:
    """Show a member's pass."""
    from loyalty_ledger.ledger import passes
    from loyalty_ledger.validate import checksum_address

    def run(c: Ctx) -> None:
        info = passes.pass_of(w3=c.w3, program=c.program(brand), member=member)
        if info is None:
            _emit(
                c,
                {"brand": brand, "member": checksum_address(member), "pass": None},
                f"{checksum_address(member)} holds no {brand} pass",
            )
            return
        expiry = "never expires" if info.expires_at == 0 else f"expires at {info.expires_at}"
        _emit(
            c,
            {"brand": brand, "member": info.owner, "pass": info.__dict__},
            f"pass #{info.token_id} of {info.owner}: tier {info.tier_name} ({info.tier}), "
            f"{expiry}, {'active' if info.active else 'inactive'}"
            f"{', soulbound' if info.locked else ''}",
        )

    _run(ctx, run)
