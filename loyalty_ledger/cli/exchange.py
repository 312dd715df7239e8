"""`loyalty exchange …`: the coalition exchange between brands (registered on import by `cli`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from loyalty_ledger.cli.context import Ctx, Key, _emit, _run, _tx
from loyalty_ledger.cli.points import Direct, _customer_tx

if TYPE_CHECKING:
    from loyalty_ledger.chain.deploy import Deployment
    from loyalty_ledger.ledger.exchange import ExchangeInfo

exchange_app: typer.Typer = typer.Typer(
    no_args_is_help=True, help="Swap one brand's points for another's (coalition exchange)."
)

ExchangeId = Annotated[
    int, typer.Argument(help="Exchange id (see `loyalty exchange list`).", min=0)
]


def _describe(e: ExchangeInfo) -> str:
    waiting = [
        b for b, ok in ((e.from_brand, e.approved_from), (e.to_brand, e.approved_to)) if not ok
    ]
    state = f"pending approval by {', '.join(waiting)}" if waiting else e.status
    return (
        f"#{e.id} {e.from_brand} → {e.to_brand} at {e.rate_from}:{e.rate_to}, "
        f"cap {e.daily_cap}/member/day, issued {e.issued} of {e.budget}: {state}"
    )


def _exchange_deployment(c: Ctx, key: str | None) -> Deployment:
    """The deployment, with an exchange deployed (and saved) first if it predates them."""
    from loyalty_ledger.chain.deploy import deploy_exchange

    dep = c.deployment()
    if not dep.exchange:
        deploy_exchange(c.w3, c.sender("operator", key), dep)
        dep.save(c.settings.deployment_file)
    return dep


@exchange_app.command("open")
def exchange_open(
    ctx: typer.Context,
    from_brand: str,
    to_brand: str,
    rate_from: Annotated[int, typer.Option(min=1, help="FROM points that buy ...")],
    rate_to: Annotated[int, typer.Option(min=1, help="... this many TO points.")],
    daily_cap: Annotated[int, typer.Option(min=1, help="FROM points a member may swap a day.")],
    budget: Annotated[int, typer.Option(min=1, help="TO points the exchange may issue in all.")],
    key: Key = None,
) -> None:
    """Register an exchange FROM → TO (operator); it opens once both brand admins approve."""
    from loyalty_ledger.ledger import exchange

    def run(c: Ctx) -> None:
        dep = _exchange_deployment(c, key)
        exchange_id, r = exchange.register_exchange(
            sender=c.sender("operator", key),
            deployment=dep,
            from_brand=from_brand,
            to_brand=to_brand,
            rate_from=rate_from,
            rate_to=rate_to,
            daily_cap=daily_cap,
            budget=budget,
        )
        _emit(
            c,
            {"exchange_id": exchange_id, "exchange": dep.exchange, **r.as_dict()},
            f"registered exchange #{exchange_id} {from_brand} → {to_brand}; "
            f"both brand admins must approve it {_tx(r)}",
        )

    _run(ctx, run)


@exchange_app.command("approve")
def exchange_approve(ctx: typer.Context, exchange_id: ExchangeId, key: Key = None) -> None:
    """Approve an exchange for your brand (brand admin); grants it the exchange role."""
    from loyalty_ledger.ledger import exchange

    def run(c: Ctx) -> None:
        a = exchange.approve_exchange(
            sender=c.sender("brand", key), deployment=c.deployment(), exchange_id=exchange_id
        )
        _emit(
            c,
            {
                "exchange_id": exchange_id,
                "granted": a.granted,
                "opened": a.opened,
                **a.receipt.as_dict(),
            },
            f"approved exchange #{exchange_id}{'; it is open' if a.opened else ''} "
            f"{_tx(a.receipt)}",
        )

    _run(ctx, run)


OperatorFlag = Annotated[
    bool, typer.Option("--operator", help="Act as the network operator (default: a brand admin).")
]


def _pause_cmd(paused: bool) -> None:
    verb = "paused" if paused else "unpaused"

    def command(
        ctx: typer.Context, exchange_id: ExchangeId, operator: OperatorFlag = False, key: Key = None
    ) -> None:
        from loyalty_ledger.ledger import exchange

        op = exchange.pause_exchange if paused else exchange.unpause_exchange

        def run(c: Ctx) -> None:
            sender = c.sender("operator" if operator else "brand", key)
            r = op(sender=sender, deployment=c.deployment(), exchange_id=exchange_id)
            _emit(
                c,
                {"exchange_id": exchange_id, "paused": paused, **r.as_dict()},
                f"{verb} exchange #{exchange_id} {_tx(r)}",
            )

        _run(ctx, run)

    command.__doc__ = (
        "Pause an exchange for your side (brand admin, or --operator)."
        if paused
        else "Lift your own pause of an exchange (others' pauses stay)."
    )
    exchange_app.command("pause" if paused else "unpause")(command)


_pause_cmd(True)
_pause_cmd(False)


@exchange_app.command("list")
def exchange_list(ctx: typer.Context) -> None:
    """Every exchange: terms, budget used and whether it is open."""
    from loyalty_ledger.ledger import exchange

    def run(c: Ctx) -> None:
        found = exchange.list_exchanges(w3=c.w3, deployment=c.deployment())
        human = "\n".join(_describe(e) for e in found) or "no exchanges yet"
        _emit(c, {"exchanges": [e.as_dict() for e in found]}, human)

    _run(ctx, run)


@exchange_app.command("quote")
def exchange_quote(ctx: typer.Context, exchange_id: ExchangeId, amount: str) -> None:
    """What swapping AMOUNT would burn and issue (rounded down, never creating points)."""
    from loyalty_ledger.ledger import exchange
    from loyalty_ledger.validate import parse_amount

    def run(c: Ctx) -> None:
        dep = c.deployment()
        q = exchange.quote(
            w3=c.w3, deployment=dep, exchange_id=exchange_id, amount=parse_amount(amount)
        )
        e = exchange.exchange_of(w3=c.w3, deployment=dep, exchange_id=exchange_id)
        _emit(
            c,
            {
                "exchange_id": exchange_id,
                "amount_in": q.amount_in,
                "burned": q.burned,
                "issued": q.issued,
            },
            f"{q.amount_in} {e.from_brand} points → {q.issued} {e.to_brand} points "
            f"({q.burned} burned)",
        )

    _run(ctx, run)


@exchange_app.command("swap")
def exchange_swap(
    ctx: typer.Context,
    exchange_id: ExchangeId,
    amount: str,
    key: Key = None,
    direct: Direct = False,
) -> None:
    """Swap the customer's points on an exchange; gasless unless --direct."""
    from loyalty_ledger.ledger import exchange
    from loyalty_ledger.validate import parse_amount

    def run(c: Ctx) -> None:
        dep = c.deployment()
        call = exchange.swap_call(
            w3=c.w3, deployment=dep, exchange_id=exchange_id, amount=parse_amount(amount)
        )
        s = exchange.swap_of(
            w3=c.w3, deployment=dep, receipt=_customer_tx(c, "", key, direct, call)
        )
        e = exchange.exchange_of(w3=c.w3, deployment=dep, exchange_id=exchange_id)
        _emit(
            c,
            s.as_dict(),
            f"swapped {s.burned} {e.from_brand} points for {s.issued} {e.to_brand} points "
            f"{_tx(s.receipt)}",
        )

    _run(ctx, run)
