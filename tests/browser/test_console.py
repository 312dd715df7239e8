"""The brand console in real headless Chromium, on the whole API (SQLite): create a perk and see
it in the wallet; find a member and open the 360° page; build a segment, send a notification and
see it in a real SMTP server and a real webhook receiver; export CSV; a viewer sees no edit
controls and its edits are refused; no console errors. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.messages import encode_defunct
from sqlalchemy import Engine

from api.deps import ApiOptions
from api.main import create_app, serve
from loyalty_ledger.crm import profiles

from ..crm.receivers import Hooks, Inbox, smtp_server, webhook_receiver
from ..insights.conftest import make_keys, make_settings
from ..insights.fixture_data import ACCT, database, seed
from .conftest import free_port
from .test_pages import INJECT, _watch

VIEWS = ("perks", "members", "segments", "metrics", "webhooks", "exchanges", "keys", "export")
VIEWS += ("rules", "tiers")
ROW_HAS = """([name, text]) => [...document.querySelectorAll('#perks tr')]
  .some((r) => r.innerText.includes(name) && r.innerText.includes(text))"""
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


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    inbox, hooks = Inbox(), Hooks()
    with (
        database("sqlite", tmp) as (url, engine),
        smtp_server(inbox) as smtp,
        webhook_receiver(hooks) as hook_url,
    ):
        seed(engine)
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


def test_create_a_perk_and_see_it_in_the_wallet(console: Console, browser: Any) -> None:
    page, errors = console.page(browser, "acme:perk_manager")
    page.fill("#perk-name", "Console cake")
    page.fill("#perk-cost", "10")
    page.fill("#perk-stock", "5")
    page.click("#perk-form button[type=submit]")
    page.wait_for_selector("#perks td:text('Console cake')")
    row = page.locator("#perks tr", has_text="Console cake")
    assert "unlimited" not in row.inner_text() and "\t5\t" in row.inner_text()
    row.locator("input.stock").fill("7")
    row.locator("button", has_text="Save stock").click()
    page.wait_for_function(ROW_HAS, arg=["Console cake", "\t7\t"])
    page.screenshot(path=str(SHOTS / "console-perks.png"), full_page=True)
    wallet, wallet_errors = signed_in_wallet(console, browser, "A")
    wallet.wait_for_selector("#perks td:text('Console cake')", timeout=15_000)
    # The member's own profile in the wallet: what the till recorded, then edited by them.
    wallet.wait_for_function("document.querySelector('#p-email').value !== ''")
    assert wallet.input_value("#p-email") == f"{A[2:8].lower()}@example.org"
    assert wallet.is_checked("#p-consent")
    wallet.fill("#p-name", "Ann Edited")
    wallet.fill("#p-birthday", "1990-05-17")
    wallet.click("#profile button[type=submit]")
    wallet.wait_for_function(
        "document.querySelector('#profile-status').textContent.includes('saved')"
    )
    seen = httpx.get(
        f"{console.url}/customers/{A}/profile?brand=acme",
        headers={"X-API-Key": console.keys["acme:viewer"]},
    ).json()["profile"]
    assert seen["name"] == "Ann Edited" and seen["birthday"] == "1990-05-17"
    wallet.screenshot(path=str(SHOTS / "wallet-profile.png"), full_page=True)
    page.locator("#perks tr", has_text="Console cake").locator(
        "button", has_text="Switch off"
    ).click()
    page.wait_for_function(ROW_HAS, arg=["Console cake", "\toff\t"])
    assert errors == [] and wallet_errors == []
    page.close()
    wallet.close()


def test_find_a_member_and_open_the_360_page(console: Console, browser: Any) -> None:
    page, errors = console.page(browser, "acme:viewer")
    page.click("#nav a[data-view=members]")
    page.fill("#member-q", "+84 90 123 4567")
    page.click("#member-search button")
    page.wait_for_selector("#member-360:not([hidden])")
    assert page.inner_text("#m-address") == A
    assert "Ann Edited" in page.inner_text("#m-profile") and "+84901234567" in page.inner_text(
        "#m-profile"
    )
    assert page.locator("#m-orders tr").count() > 1
    assert page.locator("#m-erase").is_hidden()  # a viewer: no erase button
    page.fill("#member-q", A[:8])
    page.click("#member-search button")
    page.wait_for_selector(f"#member-results td:text('{A}')")
    page.screenshot(path=str(SHOTS / "console-member-360.png"), full_page=True)
    assert errors == []
    page.close()


def test_segment_notification_to_smtp_and_webhook(console: Console, browser: Any) -> None:
    page, errors = console.page(browser, "acme:perk_manager")
    page.click("#nav a[data-view=webhooks]")
    page.fill("#hook-url", console.hook_url)
    page.click("#hook-form button")
    page.wait_for_selector("#hook-secret:not([hidden])")
    console.hooks.secret = page.inner_text("#hook-secret").rsplit(": ", 1)[1].strip()
    page.click("#nav a[data-view=segments]")
    page.wait_for_selector("#seg-conds .cond")
    cond = page.locator("#seg-conds .cond").first
    cond.locator(".c-field").select_option("consent")
    cond.locator(".c-op").select_option("==")
    cond.locator(".c-value").fill("true")
    page.click("#seg-count")
    page.wait_for_function("document.querySelector('#seg-result').textContent.includes('members')")
    assert page.inner_text("#seg-result") == "2 members"
    page.fill("#seg-name", "Consenting")
    page.click("#seg-save")
    page.wait_for_selector("#segments td:text('Consenting')")
    page.fill("#send-subject", "Hello {name}")
    page.click("#send-form button[type=submit]")
    page.wait_for_function("document.querySelector('#send-result').textContent.includes('queued')")
    assert page.inner_text("#send-result").startswith("2 queued")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (console.inbox.messages and console.hooks.received):
        time.sleep(0.1)
    (mail,) = console.inbox.messages
    assert mail["Subject"] == "Hello Ann Edited" and mail["To"] == f"{A[2:8].lower()}@example.org"
    (hook,) = console.hooks.received
    assert hook["member"] == B and hook["subject"] == f"Hello Member {B[:6]}"
    assert console.hooks.bad_signatures == 0
    page.click("#nav a[data-view=segments]")
    page.wait_for_selector("#note-states td:text('sent')")
    page.screenshot(path=str(SHOTS / "console-segments.png"), full_page=True)
    assert errors == []
    page.close()


def test_export_csv(console: Console, browser: Any, tmp_path: Path) -> None:
    page, errors = console.page(browser, "acme:viewer")
    page.click("#nav a[data-view=export]")
    with page.expect_download() as dl:
        page.click("#exports button:text('orders.csv')")
    path = tmp_path / "orders.csv"
    dl.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("id,brand_id,idem_key,member") and len(lines) > 2
    page.screenshot(path=str(SHOTS / "console-export.png"), full_page=True)
    assert errors == []
    page.close()


def test_viewer_sees_no_edit_controls_and_is_refused(console: Console, browser: Any) -> None:
    page, errors = console.page(browser, "acme:viewer")
    assert "read only" in page.inner_text("#status")
    for view in VIEWS:
        page.click(f"#nav a[data-view={view}]")
        page.wait_for_timeout(150)
        visible = [e for e in page.locator(".edit").all() if e.is_visible()]
        assert visible == [], view
        assert page.locator("button:text('Switch off'), button:text('Delete')").count() == 0
        assert page.locator("button:text('Revoke'), #key-form").first.is_hidden()
    page.click("#nav a[data-view=metrics]")
    page.wait_for_selector("#perk-results td:text('Console cake')")
    presets = page.locator("#presets a")
    assert presets.count() == 5 and "from=" in (presets.first.get_attribute("href") or "")
    page.screenshot(path=str(SHOTS / "console-viewer.png"), full_page=True)
    h = {"X-API-Key": console.keys["acme:viewer"]}
    r = httpx.post(
        f"{console.url}/brands/acme/perks", json={"name": "x", "point_cost": 1}, headers=h
    )
    assert r.status_code == 403
    r = httpx.post(
        f"{console.url}/brands/acme/segments",
        json={"name": "x", "rules": {"conditions": []}},
        headers=h,
    )
    assert r.status_code == 403
    assert errors == []
    page.close()


def test_member_erases_their_profile_in_the_wallet(console: Console, browser: Any) -> None:
    wallet, errors = signed_in_wallet(console, browser, "B")
    wallet.on("dialog", lambda d: d.accept())
    wallet.wait_for_function("document.querySelector('#p-email').value !== ''", timeout=15_000)
    wallet.click("#p-erase")
    wallet.wait_for_function(
        "document.querySelector('#profile-status').textContent.includes('erased')"
    )
    assert wallet.input_value("#p-email") == "" and not wallet.is_checked("#p-consent")
    h = {"X-API-Key": console.keys["acme:viewer"]}
    gone = httpx.get(f"{console.url}/customers/{B}/profile?brand=acme", headers=h).json()
    assert gone == {"profile": None}
    assert errors == []
    wallet.close()


def test_operator_creates_and_revokes_a_key(console: Console, browser: Any) -> None:
    page, errors = console.page(browser, "operator")
    page.click("#nav a[data-view=keys]")
    page.check("#key-form input[value=perk_manager]")
    page.fill("#key-label", "console test")
    page.click("#key-form button")
    page.wait_for_selector("#key-new:not([hidden])")
    key = page.inner_text("#key-new").rsplit(": ", 1)[1].strip()
    r = httpx.get(f"{console.url}/brands/acme/access", headers={"X-API-Key": key})
    assert r.json()["roles"] == ["perk_manager", "viewer"]
    key_id = key.split("_")[1]
    page.locator("#keys tr", has_text=key_id).locator("button", has_text="Revoke").click()
    page.wait_for_selector(f"#keys tr:has-text('{key_id}') td:text('revoked')")
    page.screenshot(path=str(SHOTS / "console-keys.png"), full_page=True)
    time.sleep(2.1)  # the API trusts a verified key from memory this long
    r = httpx.get(f"{console.url}/brands/acme/access", headers={"X-API-Key": key})
    assert r.status_code == 401
    assert errors == []
    page.close()
