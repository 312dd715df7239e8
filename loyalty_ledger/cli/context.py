"""What every `loyalty` command shares: settings, signing accounts, output and error handling.

Heavy libraries (web3, eth-account, requests) are imported where they are used, so that
`loyalty --help` does not pay for them.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from loyalty_ledger.config import Settings
from loyalty_ledger.errors import InvalidInput, LedgerError, LedgerValueError, NodeUnreachable

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

    from loyalty_ledger.chain.deploy import Deployment, Program
    from loyalty_ledger.chain.sender import Receipt, Sender


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
            from loyalty_ledger.chain.sender import connect_settings

            self._w3 = connect_settings(self.settings)
        return self._w3

    def account(self, role: str, key: str | None) -> LocalAccount:
        """--key when given, else the role's key (operator, relayer, brand:<id>; see chain.keys)."""
        from eth_account import Account

        from loyalty_ledger.chain.keys import KeyRing

        if key is None:
            return KeyRing(self.settings).account(role)
        try:
            return Account.from_key(key)
        except (ValueError, TypeError):
            raise InvalidInput(f"the {role} key is not a valid private key") from None

    def sender(self, role: str, key: str | None) -> Sender:
        from loyalty_ledger.chain.artifacts import error_decoder
        from loyalty_ledger.chain.sender import Sender

        return Sender.from_settings(
            self.w3, self.account(role, key), self.settings, error_decoder()
        )

    def deployment(self) -> Deployment:
        from loyalty_ledger.chain.deploy import Deployment

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


RPC_HINT = "set LOYALTY_RPC_URL (or --rpc-url) to a node that answers, or run `loyalty chain up`"


def wants_json(ctx: typer.Context) -> bool:
    """Whether `loyalty --json …` was given (commands that also take their own --json OR it)."""
    return bool(getattr(ctx.find_root().obj, "json", False))


def fail(err: LedgerError, *, as_json: bool, code: int | None = None) -> NoReturn:
    """One line on stderr (JSON with --json); exit `code`, else 2 for invalid input, else 1."""
    message = err.message
    if isinstance(err, NodeUnreachable):
        message = f"{message}; {RPC_HINT}"
    if as_json:
        typer.echo(json.dumps({"error": err.code, "detail": message}), err=True)
    else:
        typer.echo(f"error: {message}", err=True)
    if code is None:
        code = 2 if isinstance(err, LedgerValueError) else 1
    raise typer.Exit(code) from None


def _run(ctx: typer.Context, fn: Callable[[Ctx], None]) -> None:
    """Run a command; a LedgerError becomes one line on stderr and a non-zero exit."""
    import requests

    c = _ctx(ctx)
    try:
        try:
            fn(c)
        except requests.ConnectionError:  # the node went away mid-command
            raise NodeUnreachable(c.settings.rpc_url) from None
    except LedgerError as err:
        fail(err, as_json=c.json)


def job_say(as_json: bool) -> Callable[[str], None]:
    """How a long job (`up`, `demo`) reports progress: stdout, or stderr under --json."""
    console = Console(soft_wrap=True, stderr=as_json)
    return lambda line: console.print(line, highlight=False, markup=False)


def job_announce(as_json: bool) -> Callable[[dict[str, Any]], None] | None:
    """Under --json, the job's links as one JSON line on stdout."""
    if not as_json:
        return None
    return lambda data: typer.echo(json.dumps(data))
