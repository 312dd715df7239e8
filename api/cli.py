"""`api_app`: serve the API and manage API keys (the lead mounts it as `loyalty api`)."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from loyalty_ledger.config import get_settings
from loyalty_ledger.errors import LedgerError

if TYPE_CHECKING:
    pass

api_app = typer.Typer(no_args_is_help=True, help="The HTTP API: serve it, manage API keys.")
key_app = typer.Typer(no_args_is_help=True, help="API keys (stored hashed; shown once).")
api_app.add_typer(key_app, name="key")

DbOpt = Annotated[str | None, typer.Option("--database-url", help="default: LOYALTY_DATABASE_URL")]


def _engine(database_url: str | None):  # type: ignore[no-untyped-def]
    from loyalty_ledger.store import make_engine, migrate

    settings = get_settings(database_url=database_url)
    assert settings.database_url is not None
    engine = make_engine(settings.database_url)
    migrate(engine)
    return engine


@api_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default: LOYALTY_API_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default: LOYALTY_API_PORT")] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="uvicorn worker processes; more than 1 is for read-only traffic: each process "
            "counts the signing keys' nonces itself, so concurrent writes can collide"
        ),
    ] = 1,
) -> None:
    """Serve the API (Ctrl-C stops)."""
    settings = get_settings(api_host=host, api_port=port)
    if workers > 1:
        typer.echo(
            f"warning: {workers} workers: chain writes (earn, redeem, relays) may collide on "
            "signer nonces; use 1 worker for write traffic",
            err=True,
        )
        run_workers(
            "api.cli:_factory", host=settings.api_host, port=settings.api_port, workers=workers
        )
        return
    from .main import serve as serve_thread

    stop = threading.Event()
    typer.echo(f"API on http://{settings.api_host}:{settings.api_port} (docs at /docs)")
    thread = serve_thread(settings, stop)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        stop.set()
        thread.join(10)


def run_workers(factory: str, *, host: str, port: int, workers: int) -> None:
    """Serve the app that `factory` ("module:function") builds from `workers` processes."""
    import uvicorn

    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def _factory():  # type: ignore[no-untyped-def]
    from .main import create_app

    return create_app(get_settings())


@key_app.command("create")
def key_create(
    kind: Annotated[str, typer.Argument(help="brand | operator | auditor")],
    brand: Annotated[str | None, typer.Option(help="the brand of a brand key")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="issuer, redeemer, perk_manager, viewer (repeat)"),
    ] = None,
    label: Annotated[str, typer.Option(help="a note: who holds the key")] = "",
    database_url: DbOpt = None,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from loyalty_ledger import auth

    try:
        key_id, key = auth.create_api_key(
            engine=_engine(database_url), kind=kind, brand_id=brand, roles=role or [], label=label
        )
    except LedgerError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"key id: {key_id}")
    typer.echo(f"key:    {key}")
    typer.echo("store the key now: it cannot be shown again", err=True)


@key_app.command("revoke")
def key_revoke(key_id: str, database_url: DbOpt = None) -> None:
    """Revoke a key by its id."""
    from loyalty_ledger import auth

    if not auth.revoke_api_key(engine=_engine(database_url), key_id=key_id):
        typer.echo(f"error: no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@key_app.command("list")
def key_list(
    database_url: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List keys (ids, kinds, brands, roles; never secrets)."""
    from loyalty_ledger import auth

    keys = auth.list_api_keys(engine=_engine(database_url))
    if as_json:
        typer.echo(json.dumps(keys, indent=2))
        return
    for k in keys:
        state = "revoked" if k["revoked_at"] else "active"
        typer.echo(
            f"{k['key_id']}  {k['kind']:<8} {k['brand_id'] or '-':<12} "
            f"{k['roles'] or '-':<36} {state:<8} {k['label']}"
        )
