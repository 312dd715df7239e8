"""`api_app`: serve the API and manage API keys (the lead mounts it as `loyalty api`)."""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any, NoReturn

import typer

from loyalty_ledger.config import Settings, get_settings
from loyalty_ledger.errors import LedgerError, LedgerValueError

api_app = typer.Typer(no_args_is_help=True, help="The HTTP API: serve it, manage API keys.")
key_app = typer.Typer(no_args_is_help=True, help="API keys (stored hashed; shown once).")
api_app.add_typer(key_app, name="key")

DbOpt = Annotated[str | None, typer.Option("--database-url", help="default: LOYALTY_DATABASE_URL")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _settings(ctx: typer.Context, **overrides: Any) -> Settings:
    """`loyalty`'s settings (its --rpc-url, --deployment) when mounted there, else the env's."""
    base = getattr(ctx.find_root().obj, "settings", None)
    if not isinstance(base, Settings):
        return get_settings(**overrides)
    return base.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def _json(ctx: typer.Context, own: bool = False) -> bool:
    return own or bool(getattr(ctx.find_root().obj, "json", False))


def _out(as_json: bool, data: dict[str, Any], human: str) -> None:
    typer.echo(json.dumps(data) if as_json else human)


def _fail(err: LedgerError, as_json: bool) -> NoReturn:
    """One line on stderr (JSON with --json); exit 2 for invalid input, 1 for a refusal."""
    if as_json:
        typer.echo(json.dumps({"error": err.code, "detail": err.message}), err=True)
    else:
        typer.echo(f"error: {err.message}", err=True)
    raise typer.Exit(2 if isinstance(err, LedgerValueError) else 1)


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from loyalty_ledger.store import make_engine, migrate

    assert settings.database_url is not None
    engine = make_engine(settings.database_url)
    migrate(engine)
    return engine


@api_app.command()
def serve(
    ctx: typer.Context,
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
    """Serve the API (Ctrl-C stops); with --json its addresses are one JSON line on stdout."""
    settings = _settings(ctx, api_host=host, api_port=port)
    base = f"http://{settings.api_host}:{settings.api_port}"
    where = {"api": base, "docs": f"{base}/docs", "health": f"{base}/health", "workers": workers}
    if workers > 1:
        import uvicorn

        typer.echo(
            f"warning: {workers} workers: chain writes (earn, redeem, relays) may collide on "
            "signer nonces; use 1 worker for write traffic",
            err=True,
        )
        _out(_json(ctx), where, f"API on {base} (docs at /docs), {workers} workers")
        uvicorn.run(
            "api.cli:_factory",
            factory=True,
            host=settings.api_host,
            port=settings.api_port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
        return
    from .main import serve as serve_thread

    stop = threading.Event()
    _out(_json(ctx), where, f"API on {base} (docs at /docs)")
    thread = serve_thread(settings, stop)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        stop.set()
        thread.join(10)


def _factory():  # type: ignore[no-untyped-def]
    from .main import create_app

    return create_app(get_settings())


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="brand | operator | auditor")],
    brand: Annotated[str | None, typer.Option(help="the brand of a brand key")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="issuer, redeemer, perk_manager, viewer, cashier (repeat)"),
    ] = None,
    label: Annotated[str, typer.Option(help="a note: who holds the key")] = "",
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key and print it once (only its hash is stored); a brand must be deployed."""
    from loyalty_ledger import auth
    from loyalty_ledger.chain.deploy import Deployment

    settings = _settings(ctx, database_url=database_url)
    as_json = _json(ctx, as_json)
    try:
        if kind == "brand" and brand is not None:  # UnknownProgram names the deployed brands
            Deployment.load(settings.deployment_file).program(brand)
        key_id, key = auth.create_api_key(
            engine=_engine(settings), kind=kind, brand_id=brand, roles=role or [], label=label
        )
    except LedgerError as err:
        _fail(err, as_json)
    data = {"key_id": key_id, "key": key, "kind": kind, "brand": brand, "roles": sorted(role or [])}
    _out(as_json, data, f"key id: {key_id}\nkey:    {key}")
    if not as_json:
        typer.echo("store the key now: it cannot be shown again", err=True)


@key_app.command("revoke")
def key_revoke(
    ctx: typer.Context, key_id: str, database_url: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Revoke a key by its id."""
    from loyalty_ledger import auth

    as_json = _json(ctx, as_json)
    if not auth.revoke_api_key(
        engine=_engine(_settings(ctx, database_url=database_url)), key_id=key_id
    ):
        _fail(LedgerError(f"no active key {key_id}"), as_json)
    _out(as_json, {"key_id": key_id, "revoked": True}, f"revoked {key_id}")


@key_app.command("list")
def key_list(ctx: typer.Context, database_url: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List keys (ids, kinds, brands, roles; never secrets)."""
    from loyalty_ledger import auth

    keys = auth.list_api_keys(engine=_engine(_settings(ctx, database_url=database_url)))
    if _json(ctx, as_json):
        typer.echo(json.dumps(keys, indent=2))
        return
    for k in keys:
        state = "revoked" if k["revoked_at"] else "active"
        typer.echo(
            f"{k['key_id']}  {k['kind']:<8} {k['brand_id'] or '-':<12} "
            f"{k['roles'] or '-':<36} {state:<8} {k['label']}"
        )
