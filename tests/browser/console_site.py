"""The brand console's site for the browser tests: the whole API over the insights fixture (on
SQLite or PostgreSQL) served by uvicorn, a real SMTP server and webhook receiver, and helpers to
open the console or a signed-in wallet page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import encode_defunct
from sqlalchemy import Engine, text

from api.deps import ApiOptions
from api.main import create_app, serve
from loyalty_ledger.crm import profiles

from ..crm.receivers import Hooks, Inbox, smtp_server, webhook_receiver
from ..insights.conftest import make_keys, make_settings
from ..insights.fixture_data import ACCT, database, seed
from .conftest import free_port
from .test_pages import INJECT, _watch

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
A, B = ACCT["A"].address, ACCT["B"].address


@dataclass
class Console:
    url: str
    keys: dict[str, str]
    engine: Engine
    inbox: Inbox
    hooks: Hooks
    hook_url: str

    def page(self, browser: Any, who: str) -> tuple[Any, list[str]]:
        page = browser.new_page()
        errors = _watch(page)
        page.goto(f"{self.url}/console#brand=acme&key={self.keys[who]}")
        page.wait_for_selector("#nav:not([hidden])", timeout=15_000)
        page.wait_for_selector("#perks tr:nth-child(2)", timeout=10_000)
        return page, errors


def signed_in_wallet(console: Console, browser: Any, who: str) -> tuple[Any, list[str]]:
    """The wallet page, signed in (SIWE) as the fixture's member `who`."""
    acct = ACCT[who]
    wallet = browser.new_page()
    errors = _watch(wallet)

    def sign(message_hex: str) -> str:
        text = bytes.fromhex(message_hex[2:]).decode()
        return "0x" + bytes(acct.sign_message(encode_defunct(text=text)).signature).hex()

    wallet.expose_function("llSign", sign)
    wallet.expose_function("llAddress", lambda: acct.address)
    wallet.add_init_script(INJECT)
    wallet.goto(f"{console.url}/wallet")
    wallet.click("#connect")
    return wallet, errors


@contextmanager
def console_site(kind: str, tmp: Path) -> Iterator[Console]:
    """The whole API over the insights fixture on `kind` (sqlite or postgresql), with a real
    SMTP server and webhook receiver, two consenting profiles and a perk_manager key."""
    inbox, hooks = Inbox(), Hooks()
    with (
        database(kind, tmp) as (url, engine),
        smtp_server(inbox) as smtp,
        webhook_receiver(hooks) as hook_url,
    ):
        seed(engine)
        with engine.begin() as conn:  # the fixture's acme entries have no block time: give them
            conn.execute(  # some in March 2026, so the monthly flows have points to show
                text(
                    "UPDATE ledger_entry SET block_time = :t + id * 3600 WHERE block_time IS NULL"
                ),
                {"t": 1772323200},
            )
        for who, channel in ((A, "email"), (B, "push")):
            profiles.save_profile(
                engine=engine, brand_id="acme", member=who, consent=True, source="till",
                fields={"name": f"Member {who[:6]}", "email": f"{who[2:8].lower()}@example.org",
                        "phone": "+84901234567" if who == A else None, "channel": channel},
            )  # fmt: skip
        port = free_port()
        settings = make_settings(url, tmp).model_copy(
            update={
                "api_port": port,
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp,
                "smtp_tls": "none",
                "public_url": f"http://127.0.0.1:{port}",
            }
        )
        options = ApiOptions(siwe_domain=f"127.0.0.1:{port}", siwe_uri=f"http://127.0.0.1:{port}")
        keys = make_keys(engine)
        from loyalty_ledger import auth

        keys["acme:perk_manager"] = auth.create_api_key(
            engine=engine, kind="brand", brand_id="acme", roles=["perk_manager", "viewer"]
        )[1]
        app = create_app(settings, options=options, engine=engine)
        stop, ready = threading.Event(), threading.Event()
        thread = serve(settings, stop, app=app, ready=ready)
        if not ready.wait(20):
            pytest.fail("the API did not start")
        SHOTS.mkdir(parents=True, exist_ok=True)
        try:
            yield Console(f"http://127.0.0.1:{port}", keys, engine, inbox, hooks, hook_url)
        finally:
            stop.set()
            app.state.api.stop.set()
            thread.join(10)
