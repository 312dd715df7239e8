"""The FastAPI app: `create_app(settings)`, and `serve(settings, stop_event)` for the main job."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from loyalty_ledger.config import Settings
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.health import Outages
from loyalty_ledger.store import make_engine, migrate

from . import errors, openapi
from .deps import ApiOptions, AppState
from .earnpath import EarnPath
from .hotpath import HotPath
from .routers import (
    admin,
    auth,
    brand_exchanges,
    brands,
    crm,
    customers,
    exchanges,
    expiry,
    health,
    insights,
    keys,
    ledger,
    members,
    operations,
    pages,
    perks,
    profiles,
    rules,
    signin,
    vouchers,
)

log = logging.getLogger("api")


class BodyLimit:
    """Refuse request bodies above `limit` bytes with 413 (declared or streamed)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _reject(send, self.limit)
                    return
        seen = 0
        started = rejected = False

        async def counted() -> Any:
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Answer 413 now and tell the app the client went away: frameworks turn
                    # exceptions raised while reading the body into their own 400s.
                    rejected = True
                    if not started:
                        await _reject(send, self.limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if rejected:
                return  # the 413 is out already
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracking_send)


async def _reject(send: Any, limit: int) -> None:
    import json

    payload = json.dumps(
        {"error": "payload_too_large", "detail": f"request bodies are limited to {limit} bytes"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _migrate(engine: Engine) -> None:
    """Bring the schema to head; the indexer may be migrating the same fresh database now."""
    try:
        migrate(engine)
    except Exception:
        time.sleep(1.0)
        migrate(engine)  # the other migrator finished: this sees the head and returns


def default_options(settings: Settings) -> ApiOptions:
    host = settings.api_host
    authority = f"{host}:{settings.api_port}"
    return ApiOptions(siwe_domain=authority, siwe_uri=f"http://{authority}")


def create_app(
    settings: Settings,
    *,
    options: ApiOptions | None = None,
    engine: Engine | None = None,
    indexer_outages: Outages | None = None,
) -> FastAPI:
    """The API for `settings` (database, node, deployment file, keys); `indexer_outages`: what
    the indexer beside it waits for (the main job's), shown by /health."""
    options = options or default_options(settings)
    assert settings.database_url is not None
    if engine is None:
        engine = make_engine(settings.database_url, pool_size=20, max_overflow=20)
        _migrate(engine)
    app = FastAPI(
        title="Loyalty Ledger API",
        version="0.1.0",
        description="Points, passes and perks on a permissioned EVM ledger. Customers sign in "
        "with Ethereum (Bearer session); brands, the operator and auditors send X-API-Key.",
        docs_url=None,  # served by the pages router from the vendored Swagger UI (offline)
        redoc_url=None,  # ReDoc would load from a CDN: one docs page, served locally
        # FastAPI's native OpenTelemetry hooks look for configured providers on every request
        # (~25 µs); the API configures none.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.api = state = AppState(
        settings=settings, engine=engine, options=options, indexer_outages=indexer_outages
    )
    state.check_kek()  # ConfigError: sealed member keys, but the KEK is missing or wrong
    for line in state.key_report():
        (log.warning if "read-only" in line else log.info)("signing key of %s", line)
    if settings.submitter:  # every key's submitter (each sends only while it holds its lease)
        with contextlib.suppress(LedgerError):  # no deployment yet, or a key missing
            for role in ("operator", "relayer", *(f"brand:{b}" for b in state.deployment.programs)):
                with contextlib.suppress(LedgerError):
                    state.sender(role)
    errors.install(app)
    routers = (
        *(health, auth, customers, expiry, brands, perks, ledger, exchanges, admin, insights),
        operations,
        *(signin, members, vouchers),
        *(crm, profiles, keys),
        rules,
        brand_exchanges,
    )
    # Routes are matched in order: the hot reads (health, perk eligibility) first. The OpenAPI
    # document keeps the order of `routers`.
    for r in (health, perks, *(r for r in routers if r not in (health, perks)), pages):
        app.include_router(r.router)
    app.add_middleware(EarnPath)  # the hot write, then the hot reads: inside the body limit
    app.add_middleware(HotPath)
    app.add_middleware(BodyLimit, limit=options.max_body)
    openapi.install(app, [r.router for r in routers])
    return app


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the main job owns the signals
        pass


def serve(
    settings: Settings,
    stop_event: threading.Event,
    *,
    app: FastAPI | None = None,
    ready: threading.Event | None = None,
    **uvicorn_kw: Any,
) -> threading.Thread:
    """Serve the API on settings.api_host:api_port in a thread until `stop_event` is set.

    Returns the started thread; `ready` (optional) is set once the socket listens.
    """
    config = uvicorn.Config(
        app or create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
        **uvicorn_kw,
    )
    server = _Server(config)

    def watch() -> None:
        stop_event.wait()
        server.should_exit = True

    def run() -> None:
        threading.Thread(target=watch, name="api-stop", daemon=True).start()
        server.run()

    thread = threading.Thread(target=run, name="api", daemon=True)
    thread.start()
    if ready is not None:

        def wait_started() -> None:
            while not server.started and thread.is_alive() and not stop_event.is_set():
                stop_event.wait(0.02)
            if server.started:
                ready.set()

        threading.Thread(target=wait_started, name="api-ready", daemon=True).start()
    return thread
