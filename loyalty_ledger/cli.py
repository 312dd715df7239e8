"""The `loyalty` command: run a local chain, deploy, onboard brands and members, move points."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import requests
import typer
from eth_account import Account
from eth_account.signers.local import LocalAccount
from rich.console import Console
from web3 import Web3

from . import ledger
from .anvil import Anvil
from .artifacts import error_decoder
from .chain import Receipt, Sender, connect_settings
from .config import Settings, get_settings
from .deploy import Deployment, Program, add_brand, deploy_network
from .errors import InvalidInput, LedgerError, LedgerValueError, NodeUnreachable
from .validate import checksum_address

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, help=__doc__)
chain_app = typer.Typer(no_args_is_help=True, help="Run a local anvil node.")
brand_app = typer.Typer(no_args_is_help=True, help="Brand programs.")
member_app = typer.Typer(no_args_is_help=True, help="Members of the network (operator).")
points_app = typer.Typer(no_args_is_help=True, help="Points: issue, redeem, transfer, gift.")
pass_app = typer.Typer(no_args_is_help=True, help="Membership passes.")
for sub, name in (
    (chain_app, "chain"),
    (brand_app, "brand"),
    (member_app, "member"),
    (points_app, "points"),
    (pass_app, "pass"),
):
    app.add_typer(sub, name=name)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
Key = Annotated[str | None, typer.Option("--key", help="Private key (default from settings).")]


@dataclass
class Ctx:
    settings: Settings
    json: bool
    _w3: Web3 | None = None

    @property
    def w3(self) -> Web3:
        if self._w3 is None:
            self._w3 = connect_settings(self.settings)
        return self._w3

    def account(self, role: str, key: str | None) -> LocalAccount:
        try:
            return Account.from_key(key or self.settings.key(role))
        except (ValueError, TypeError):
            raise InvalidInput(f"the {role} key is not a valid private key") from None

    def sender(self, role: str, key: str | None) -> Sender:
        return Sender.from_settings(
            self.w3, self.account(role, key), self.settings, error_decoder()
        )

    def deployment(self) -> Deployment:
        return Deployment.load(self.settings.deployment_file)

    def program(self, brand: str) -> Program:
        return self.deployment().program(brand)


def _ctx(ctx: typer.Context) -> Ctx:
    obj = ctx.find_root().obj
    assert isinstance(obj, Ctx)
    return obj


def _emit(c: Ctx, data: dict[str, Any], human: str) -> None:
    if c.json:
        typer.echo(json.dumps(data, default=str))
    else:
        Console().print(human, highlight=False)


def _tx(receipt: Receipt) -> str:
    return f"[dim](tx {receipt.tx_hash[:10]}…, block {receipt.block_number})[/dim]"


def _run(ctx: typer.Context, fn: Callable[[Ctx], None]) -> None:
    """Run a command; a LedgerError becomes one line on stderr and a non-zero exit."""
    c = _ctx(ctx)
    try:
        try:
            fn(c)
        except requests.ConnectionError:  # the node went away mid-command
            raise NodeUnreachable(c.settings.rpc_url) from None
    except LedgerError as err:
        if c.json:
            typer.echo(json.dumps({"error": err.code, "detail": err.message}), err=True)
        else:
            typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(2 if isinstance(err, LedgerValueError) else 1) from None


@app.callback()
def main(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    rpc_url: Annotated[str | None, typer.Option(help="JSON-RPC URL of the node.")] = None,
    deployment: Annotated[Path | None, typer.Option(help="Deployment file.")] = None,
) -> None:
    """Loyalty Ledger: points and memberships on an EVM chain."""
    try:
        settings = get_settings(rpc_url=rpc_url, deployment_file=deployment)
    except ValueError as exc:  # pydantic's ValidationError
        typer.echo(f"error: bad settings: {exc}".splitlines()[0], err=True)
        raise typer.Exit(2) from None
    ctx.obj = Ctx(settings=settings, json=json_out)


# --- chain & deploy -------------------------------------------------------------------------


@chain_app.command("up")
def chain_up(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="Port (default: the RPC URL's).")] = None,
    block_time: Annotated[float | None, typer.Option(help="Seconds per block.")] = None,
    chain_id: Annotated[int | None, typer.Option(help="Chain id.")] = None,
) -> None:
    """Start anvil (or reuse the node at the RPC URL) and keep it running until Ctrl-C."""

    def run(c: Ctx) -> None:
        node = Anvil(url=c.settings.rpc_url, port=port, block_time=block_time, chain_id=chain_id)
        stop = threading.Event()
        # Handlers go in before anvil starts, so a signal never leaves an orphaned node.
        previous = {s: signal.signal(s, lambda *_: stop.set()) for s in STOP_SIGNALS}
        try:
            node.start()
            pid = node.process.pid if node.process else None
            _emit(
                c,
                {"url": node.url, "reused": node.reused, "pid": pid},
                f"anvil {'already running' if node.reused else 'running'} at {node.url}",
            )
            while not node.reused and node.process and node.process.poll() is None:
                if stop.wait(0.5):
                    break
        finally:
            node.stop()  # a no-op for a reused node
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    _run(ctx, run)


@app.command("deploy")
def deploy(
    ctx: typer.Context,
    demo: Annotated[bool, typer.Option(help="Also add a demo brand 'demo'.")] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing live deployment.")] = False,
    key: Key = None,
) -> None:
    """Deploy the network (registry + forwarder) and write the deployment file."""

    def run(c: Ctx) -> None:
        path = c.settings.deployment_file
        if path.exists() and not force:
            old = Deployment.load(path)
            if old.chain_id == c.w3.eth.chain_id and c.w3.eth.get_code(
                checksum_address(old.registry)
            ):
                raise LedgerError(f"{path} points at a live deployment; use --force to replace")
        operator = c.sender("operator", key)
        dep = deploy_network(c.w3, operator)
        if demo:
            add_brand(
                c.w3,
                operator,
                dep,
                brand_id="demo",
                name="Demo Points",
                symbol="DEMO",
                admin=c.account("brand", None).address,
                tiers=["Silver", "Gold", "Platinum"],
            )
        dep.save(path)
        _emit(
            c,
            dep.to_json(),
            f"deployed registry {dep.registry}, forwarder {dep.forwarder}"
            f"{' and brand demo' if demo else ''} → {path}",
        )

    _run(ctx, run)


@brand_app.command("add")
def brand_add(
    ctx: typer.Context,
    brand_id: str,
    name: Annotated[str, typer.Option(help="Points token name.")],
    symbol: Annotated[str, typer.Option(help="Points token symbol.")],
    admin: Annotated[str, typer.Option(help="Brand admin address.")],
    tier: Annotated[list[str], typer.Option(help="Tier names, lowest first (repeat).")],
    key: Key = None,
) -> None:
    """Deploy a brand's points and pass contracts and register the program (operator)."""

    def run(c: Ctx) -> None:
        dep = c.deployment()
        prog = add_brand(
            c.w3,
            c.sender("operator", key),
            dep,
            brand_id=brand_id,
            name=name,
            symbol=symbol,
            admin=admin,
            tiers=tier,
        )
        dep.save(c.settings.deployment_file)
        _emit(c, prog.to_json(), f"brand {brand_id}: points {prog.points}, pass {prog.pass_}")

    _run(ctx, run)


# --- members --------------------------------------------------------------------------------


def _member_cmd(op: Callable[..., Receipt], verb: str) -> Callable[..., None]:
    def command(ctx: typer.Context, address: str, key: Key = None) -> None:
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


member_app.command("register")(_member_cmd(ledger.register_member, "registered"))
member_app.command("deregister")(_member_cmd(ledger.deregister_member, "deregistered"))
member_app.command("freeze")(_member_cmd(ledger.freeze_member, "froze"))
member_app.command("unfreeze")(_member_cmd(ledger.unfreeze_member, "unfroze"))


@member_app.command("recover")
def member_recover(ctx: typer.Context, lost_wallet: str, new_wallet: str, key: Key = None) -> None:
    """Move every point and pass of a lost wallet to a new registered one (operator)."""

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

    def run(c: Ctx) -> None:
        s = ledger.member_status(w3=c.w3, deployment=c.deployment(), account=address)
        _emit(
            c,
            s.__dict__,
            f"{s.address}: {'member' if s.is_member else 'not a member'}"
            f"{', frozen' if s.frozen else ''}",
        )

    _run(ctx, run)


@app.command("up")
def up_command(ctx: typer.Context) -> None:
    """The main job: local chain + demo network + indexer + API, until Ctrl-C."""
    from .up import up

    def run(c: Ctx) -> None:
        code = up(c.settings, say=lambda line: Console(soft_wrap=True).print(line, highlight=False))
        if code:
            raise typer.Exit(code)

    _run(ctx, run)


from api.cli import api_app  # noqa: E402

from . import _cli_lots, _cli_points  # noqa: E402,F401  (register the points and pass commands)
from ._cli_exchange import exchange_app  # noqa: E402
from .audit.cli import audit_app  # noqa: E402
from .demo_cli import demo_app  # noqa: E402
from .indexer.cli import index as _index  # noqa: E402
from .insights.cli import insights_app  # noqa: E402

app.command("index")(_index)
app.add_typer(api_app, name="api")
app.add_typer(insights_app, name="insights")
app.add_typer(demo_app, name="demo")
app.add_typer(exchange_app, name="exchange")
app.add_typer(
    audit_app, name="audit", help="Replay the ledger from the chain alone and prove the books."
)

__all__ = ["app"]
