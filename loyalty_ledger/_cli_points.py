"""`loyalty points …` and `loyalty pass …` commands (registered on import by `cli`)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from web3.contract.contract import ContractFunction

from . import gasless, ledger, passes
from .chain import Receipt
from .cli import Ctx, Key, _emit, _run, _tx, pass_app, points_app
from .errors import InvalidInput
from .validate import checksum_address, parse_amount

Direct = Annotated[bool, typer.Option("--direct", help="Send from the customer (needs gas).")]


def _customer_tx(
    c: Ctx, brand: str, key: str | None, direct: bool, call: ContractFunction
) -> Receipt:
    """A customer action: relayed gasless through the forwarder, or sent directly."""
    customer = c.account("customer", key)
    if direct:
        return c.sender("customer", key).transact(call)
    relayer = c.sender("relayer", None)
    return gasless.relay_call(
        relayer=relayer, deployment=c.deployment(), signer=customer, call=call
    )


@points_app.command("issue")
def points_issue(
    ctx: typer.Context,
    brand: str,
    member: str,
    amount: str,
    reason: Annotated[str, typer.Option(help="Reason code.")] = "purchase",
    ref: Annotated[str, typer.Option(help="External reference (order id).")] = "",
    key: Key = None,
) -> None:
    """Issue points to a member (brand issuer)."""

    def run(c: Ctx) -> None:
        n = parse_amount(amount)
        r = ledger.issue_points(
            sender=c.sender("brand", key),
            program=c.program(brand),
            member=member,
            amount=n,
            reason=reason,
            ref=ref,
        )
        _emit(
            c,
            {"brand": brand, "member": checksum_address(member), "amount": n, **r.as_dict()},
            f"issued {n} points to {checksum_address(member)} {_tx(r)}",
        )

    _run(ctx, run)


def read_batch_csv(path: Path) -> list[ledger.BatchItem]:
    """Rows of `address,amount[,ref]`; a header row (address,amount…) is skipped."""
    items = []
    with path.open(newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if not row or not "".join(row).strip() or row[0].strip().startswith("#"):
                continue
            if lineno == 1 and row[0].strip().lower() in ("address", "member"):
                continue
            if len(row) not in (2, 3):
                raise InvalidInput(f"{path}:{lineno}: expected address,amount[,ref]")
            ref = row[2].strip() if len(row) == 3 else ""
            try:
                items.append(
                    ledger.BatchItem(checksum_address(row[0].strip()), parse_amount(row[1]), ref)
                )
            except ValueError as err:
                raise InvalidInput(f"{path}:{lineno}: {err}") from None
    if not items:
        raise InvalidInput(f"{path} has no rows")
    return items


@points_app.command("issue-batch")
def points_issue_batch(
    ctx: typer.Context,
    brand: str,
    csv_file: Annotated[Path, typer.Argument(help="CSV of address,amount[,ref].")],
    reason: Annotated[str, typer.Option(help="Reason code for every row.")] = "purchase",
    chunk_size: Annotated[int, typer.Option(help="Rows per transaction.")] = ledger.DEFAULT_CHUNK,
    key: Key = None,
) -> None:
    """Issue points to many members from a CSV file (pipelined batches)."""

    def run(c: Ctx) -> None:
        if not csv_file.is_file():
            raise InvalidInput(f"no such file: {csv_file}")
        items = read_batch_csv(csv_file)
        sender, program = c.sender("brand", key), c.program(brand)
        with Progress(console=Console(stderr=True), disable=c.json, transient=True) as bar:
            task = bar.add_task("issuing", total=len(items))
            receipts = ledger.issue_points_batch(
                sender=sender,
                program=program,
                items=items,
                reason=reason,
                chunk_size=chunk_size,
                progress=lambda n: bar.advance(task, n),
            )
        total = sum(i.amount for i in items)
        _emit(
            c,
            {
                "brand": brand,
                "rows": len(items),
                "total": total,
                "transactions": [r.as_dict() for r in receipts],
            },
            f"issued {total} points to {len(items)} rows in {len(receipts)} transactions",
        )

    _run(ctx, run)


@points_app.command("redeem")
def points_redeem(
    ctx: typer.Context,
    brand: str,
    amount: str,
    ref: Annotated[str, typer.Option(help="External reference.")] = "",
    key: Key = None,
    direct: Direct = False,
) -> None:
    """Redeem (burn) the customer's own points; gasless unless --direct."""

    def run(c: Ctx) -> None:
        n = parse_amount(amount)
        call = ledger.redeem_call(w3=c.w3, program=c.program(brand), amount=n, ref=ref)
        r = _customer_tx(c, brand, key, direct, call)
        _emit(c, {"brand": brand, "amount": n, **r.as_dict()}, f"redeemed {n} points {_tx(r)}")

    _run(ctx, run)


@points_app.command("transfer")
def points_transfer(
    ctx: typer.Context, brand: str, to: str, amount: str, key: Key = None, direct: Direct = False
) -> None:
    """Transfer the customer's points to another member; gasless unless --direct."""

    def run(c: Ctx) -> None:
        n = parse_amount(amount)
        call = ledger.transfer_call(w3=c.w3, program=c.program(brand), to=to, amount=n)
        r = _customer_tx(c, brand, key, direct, call)
        _emit(
            c,
            {"brand": brand, "to": checksum_address(to), "amount": n, **r.as_dict()},
            f"transferred {n} points to {checksum_address(to)} {_tx(r)}",
        )

    _run(ctx, run)


@points_app.command("gift")
def points_gift(
    ctx: typer.Context,
    brand: str,
    to: str,
    amount: str,
    memo: Annotated[str, typer.Option(help="A short message.")] = "",
    key: Key = None,
    direct: Direct = False,
) -> None:
    """Gift points with a memo; gasless unless --direct."""

    def run(c: Ctx) -> None:
        n = parse_amount(amount)
        call = ledger.gift_call(w3=c.w3, program=c.program(brand), to=to, amount=n, memo=memo)
        r = _customer_tx(c, brand, key, direct, call)
        _emit(
            c,
            {"brand": brand, "to": checksum_address(to), "amount": n, "memo": memo, **r.as_dict()},
            f"gifted {n} points to {checksum_address(to)} {_tx(r)}",
        )

    _run(ctx, run)


@points_app.command("balance")
def points_balance(ctx: typer.Context, brand: str, member: str) -> None:
    """A member's points balance."""

    def run(c: Ctx) -> None:
        n = ledger.balance_of(w3=c.w3, program=c.program(brand), member=member)
        _emit(
            c,
            {"brand": brand, "member": checksum_address(member), "balance": n},
            f"{checksum_address(member)} holds {n} {brand} points",
        )

    _run(ctx, run)


# --- passes ---------------------------------------------------------------------------------

Tier = Annotated[str, typer.Option(help="Tier number or name.")]


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

    def run(c: Ctx) -> None:
        token_id, r = passes.issue_pass(
            sender=c.sender("brand", key),
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

    def run(c: Ctx) -> None:
        r = passes.set_tier(
            sender=c.sender("brand", key), program=c.program(brand), member=member, tier=tier
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

    def run(c: Ctx) -> None:
        r = passes.renew_pass(
            sender=c.sender("brand", key),
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

    def run(c: Ctx) -> None:
        r = passes.revoke_pass(
            sender=c.sender("brand", key), program=c.program(brand), member=member
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
