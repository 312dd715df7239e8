"""`loyalty pass …`: issue, upgrade, renew, revoke and show membership passes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from loyalty_ledger.cli.context import Ctx, Key, _emit, _run, _tx

if TYPE_CHECKING:
    from loyalty_ledger.chain.deploy import Program

# `pass issue` and `pass upgrade` take the tier the same way: --tier, a number or a name.
TIER_HELP = "Tier: its number (0 is the lowest) or its name, e.g. Gold."
Tier = Annotated[str, typer.Option("--tier", help=TIER_HELP + " Default: the lowest.")]
NewTier = Annotated[str, typer.Option("--tier", help=TIER_HELP)]
pass_app = typer.Typer(no_args_is_help=True, help="Membership passes.")


def _date(ts: int) -> str:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, ValueError, OSError):  # beyond year 9999
        return f"at unix time {ts}"


def _tier(c: Ctx, program: Program, tier: str) -> dict[str, Any]:
    """The tier as {"tier": number, "tier_name": name}; InvalidInput names the tiers."""
    from loyalty_ledger.ledger import passes

    number = passes.resolve_tier(w3=c.w3, program=program, tier=tier)
    return {"tier": number, "tier_name": passes.tiers(w3=c.w3, program=program)[number]}


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
        program = c.program(brand)
        level = _tier(c, program, tier)
        token_id, r = passes.issue_pass(
            sender=c.sender(f"brand:{brand}", key),
            program=program,
            member=member,
            tier=level["tier"],
            expires_at=expires_at,
        )
        _emit(
            c,
            {
                "brand": brand,
                "member": checksum_address(member),
                "token_id": token_id,
                **level,
                **r.as_dict(),
            },
            f"issued pass #{token_id} ({level['tier_name']}) to {checksum_address(member)} "
            f"{_tx(r)}",
        )

    _run(ctx, run)


@pass_app.command("upgrade")
def pass_upgrade(
    ctx: typer.Context, brand: str, member: str, tier: NewTier, key: Key = None
) -> None:
    """Move a member's pass to another tier, up or down (brand issuer)."""
    from loyalty_ledger.ledger import passes
    from loyalty_ledger.validate import checksum_address

    def run(c: Ctx) -> None:
        program = c.program(brand)
        level = _tier(c, program, tier)
        r = passes.set_tier(
            sender=c.sender(f"brand:{brand}", key),
            program=program,
            member=member,
            tier=level["tier"],
        )
        _emit(
            c,
            {"brand": brand, "member": checksum_address(member), **level, **r.as_dict()},
            f"moved the pass of {checksum_address(member)} to {level['tier_name']} {_tx(r)}",
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
        expiry = "never expires" if info.expires_at == 0 else f"expires {_date(info.expires_at)}"
        _emit(
            c,
            {"brand": brand, "member": info.owner, "pass": info.__dict__},
            f"pass #{info.token_id} of {info.owner}: tier {info.tier_name} ({info.tier}), "
            f"{expiry}, {'active' if info.active else 'inactive'}"
            f"{', soulbound' if info.locked else ''}",
        )

    _run(ctx, run)
