"""`loyalty points …`: issue, batch issue, redeem, transfer, gift, balance."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loyalty_ledger.cli.context import Ctx, Key, _emit, _run, _tx
from loyalty_ledger.errors import AlreadyIssued, InvalidInput

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
        int, typer.Option(min=1, max=500, help="Rows per issueBatch transaction.")
    ] = 100,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show totals, members, refs, problems; send nothing.")
    ] = False,
    database: Annotated[str | None, typer.Option("--database", help="Database URL.")] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to follow the rows before giving up.")
    ] = 600,
    key: Key = None,
) -> None:
    """Issue points to many members from a CSV file, each ref once (safe to re-run)."""
    import hashlib

    from loyalty_ledger.ledger import batch_issue as bi
    from loyalty_ledger.store import make_engine, migrate

    def run(c: Ctx) -> None:
        if not csv_file.is_file():
            raise InvalidInput(f"no such file: {csv_file}")
        items = read_batch_csv(csv_file)
        digest = hashlib.sha256(csv_file.read_bytes()).hexdigest()
        program = c.program(brand)
        url = database or c.settings.database_url
        assert url is not None
        engine = make_engine(url)
        try:
            if not dry_run:
                migrate(engine)
            plan = bi.make_plan(engine, program, items, reason=reason, digest=digest)
            if dry_run:
                plan.members = bi.member_problems(c.w3, c.deployment(), items)
            summary = plan.summary()
            if dry_run:
                _emit(c, {**summary, "dry_run": True}, _dry_run_text(summary))
                return
            refused = plan.refused()
            if refused:
                raise AlreadyIssued(
                    f"refused: {len(refused)} ref(s) already issued or ambiguous, nothing sent: "
                    + ", ".join(refused[:20])
                    + (" …" if len(refused) > 20 else ""),
                    refused,
                )
            settings = c.settings.model_copy(
                update={"outbox_batch_items": chunk_size, "outbox_batch_ms": 0}
            )
            sender = c.sender(f"brand:{brand}", key)
            ids = bi.queue(engine, sender, program, plan)
            rows = bi.follow(
                engine=engine,
                url=url,
                sender=sender,
                settings=settings,
                ids=ids,
                timeout=timeout,
                progress=lambda states: _progress(c, len(ids), states),
            )
        finally:
            engine.dispose()
        _batch_result(c, plan, rows)

    _run(ctx, run)


def _dry_run_text(s: dict[str, Any]) -> str:
    lines = [
        f"dry run for {s['brand']}: {s['rows']} rows, {s['total']} points, "
        f"{s['members']} members, {s['refs']} refs",
        f"would issue {s['to_issue_total']} points in {s['to_issue']} rows"
        + (f"; would resume {s['resuming']} rows of an interrupted run" if s["resuming"] else ""),
    ]
    lines += [f"problem: {p}" for p in s["problems"]] or ["no problems; nothing sent"]
    return "\n".join(lines)


def _progress(c: Ctx, total: int, states: dict[str, int]) -> None:
    parts = ", ".join(f"{states.get(k, 0)} {k}" for k in ("queued", "sent", "mined", "failed"))
    typer.echo(f"issue-batch: {total} rows: {parts}", err=True)


def _batch_result(c: Ctx, plan: Any, rows: dict[int, dict[str, Any]]) -> None:
    """Report the batch; unsettled or failed rows make the exit status non-zero."""
    mined = [r for r in rows.values() if r["state"] == "mined"]
    failed = [r for r in rows.values() if r["state"] == "failed"]
    open_ = [r for r in rows.values() if r["state"] in ("queued", "sent")]
    data = {
        "brand": plan.brand,
        "rows": len(plan.items),
        "total": sum(i.amount for i in plan.items),
        "issued": len(mined),
        "issued_total": sum(int(r["amount"]) for r in mined),
        "resumed": len(plan.pending),
        "already_issued": len(plan.done),
        "transactions": sorted({r["tx_hash"] for r in mined}),
        "failed": [
            {"ref": r["ref"], "error": r["error_code"], "detail": r["error"]} for r in failed
        ],
        "unsettled": len(open_),
    }
    human = (
        f"issued {data['issued_total']} points to {len(mined)} rows "
        f"in {len(data['transactions'])} transactions"
        + (f" ({len(plan.done)} rows issued by the interrupted run)" if plan.done else "")
    )
    human += "".join(f"\nfailed: ref {r['ref']}: {r['error']}" for r in failed)
    if open_:
        human += f"\n{len(open_)} rows still queued or sent: re-run to follow them"
    _emit(c, data, human)
    if failed or open_:
        raise typer.Exit(1)


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
