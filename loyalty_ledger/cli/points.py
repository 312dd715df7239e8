"""`loyalty points …`: issue, batch issue, redeem, transfer, gift, balance."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from loyalty_ledger.cli.context import Ctx, Key, _emit, _run, _tx
from loyalty_ledger.errors import InvalidInput

if TYPE_CHECKING:
    from web3.contract.contract import ContractFunction

    from loyalty_ledger import ledger
    from loyalty_ledger.chain.sender import Receipt

points_app = typer.Typer(no_args_is_help=True, help="Points: issue, redeem, transfer, gift.")
Direct = Annotated[bool, typer.Option("--direct", help="Send from the customer (needs gas).")]


def _customer_tx(
    c: Ctx, brand: str, key: str | None, direct: bool, call: ContractFunction
) -> Receipt:
    """A customer action: relayed gasless through the forwarder, or sent directly."""
    from loyalty_ledger.ledger import gasless

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
    from loyalty_ledger import ledger
    from loyalty_ledger.validate import checksum_address, parse_amount

    def run(c: Ctx) -> None:
        n = parse_amount(amount)
        r = ledger.issue_points(
            sender=c.sender(f"brand:{brand}", key),
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
    from loyalty_ledger import ledger
    from loyalty_ledger.validate import checksum_address, parse_amount

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
    chunk_size: Annotated[
        int, typer.Option(help="Rows per transaction.")
    ] = 100,  # ledger.DEFAULT_CHUNK
    key: Key = None,
) -> None:
    """Issue points to many members from a CSV file (pipelined batches)."""
    from rich.progress import Progress

    from loyalty_ledger import ledger

    def run(c: Ctx) -> None:
        if not csv_file.is_file():
            raise InvalidInput(f"no such file: {csv_file}")
        items = read_batch_csv(csv_file)
        sender, program = c.sender(f"brand:{brand}", key), c.program(brand)
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
    from loyalty_ledger import ledger
    from loyalty_ledger.validate import parse_amount

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
    from loyalty_ledger import ledger
    from loyalty_ledger.validate import checksum_address, parse_amount

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
    from loyalty_ledger import ledger
    from loyalty_ledger.validate import checksum_address, parse_amount

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
    from loyalty_ledger import ledger
    from loyalty_ledger.validate import checksum_address

    def run(c: Ctx) -> None:
        n = ledger.balance_of(w3=c.w3, program=c.program(brand), member=member)
        _emit(
            c,
            {"brand": brand, "member": checksum_address(member), "balance": n},
            f"{checksum_address(member)} holds {n} {brand} points",
        )

    _run(ctx, run)


# --- passes ---------------------------------------------------------------------------------
