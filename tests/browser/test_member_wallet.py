"""A customer with nothing but a browser, in real Chromium with Chrome's virtual authenticator
(DevTools WebAuthn domain): join with a passkey, join a brand, earn at a till by the member
card's id, gift to a friend, redeem a perk to a voucher that the cashier uses once, sign out and
sign in again with the passkey; a replayed passkey assertion is refused. And a member with
their own wallet (injected provider) redeems a perk to a voucher by signing the burn; and an
email member signs up with a mailed code and confirms a large gift with a fresh one."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import update

from api.main import serve
from api.routers.members import qr_svg
from loyalty_ledger.auth.managed import sign_typed
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.store.customers import MemberSession
from loyalty_ledger.store.offchain import table

from ..api.conftest import Env
from ..customers.conftest import (  # noqa: F401  (the smtp fixture)
    Inbox,
    deploy_acme_beta,
    drop_env,
    email_sign_in,
    free_port,
    make_env,
    member_settings,
    points_of,
    smtp,
)
from .conftest import ARTIFACTS

WAIT = {"Prefer": "wait=30"}


@pytest.fixture
def served(tmp_path: Path, smtp: tuple[Inbox, int]) -> Iterator[tuple[Env, str]]:  # noqa: F811
    """The API on a chain of its own, served on localhost (a passkey's RP id is a host name)."""
    port = free_port()
    with Anvil(port=0) as node:
        dep, w3 = deploy_acme_beta(node, tmp_path)
        settings = member_settings(
            f"sqlite:///{tmp_path / 'api.db'}",
            dep,
            node,
            tmp_path,
            smtp[1],
            api_port=port,
            webauthn_rp_id="localhost",
            webauthn_origin=f"http://localhost:{port}",
        )
        env = make_env(settings, w3)
        stop, ready = threading.Event(), threading.Event()
        thread = serve(settings, stop, app=env.client.app, ready=ready)  # type: ignore[arg-type]
        if not ready.wait(20):
            pytest.fail("the API did not start")
        try:
            yield env, f"http://localhost:{port}"
        finally:
            stop.set()
            drop_env(env)
            thread.join(10)


def _authenticator(page: Any) -> Any:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return cdp


def test_passkey_member_journey(
    served: tuple[Env, str],
    smtp: tuple[Inbox, int],  # noqa: F811
    browser: Any,
) -> None:
    env, url = served
    # Balances below count from zero: no welcome bonus here (test_no_outbox shows a join pay it).
    rule = {"currency": "VND", "amount_per_point": 10_000, "bonuses": {"signup": 0}}
    r = env.client.put("/brands/acme/earn-rule", json=rule, headers=env.h("acme:issuer"))
    assert r.status_code == 200, r.text
    perk = env.client.post(
        "/brands/acme/perks",
        json={"name": "Free latte", "point_cost": 20, "min_points": 20},
        headers=env.h("acme:perk_manager"),
    ).json()["id"]
    friend = email_sign_in(env, smtp[0], f"f{uuid.uuid4().hex[:8]}@example.test")
    fh = {"Authorization": f"Bearer {friend['token']}"}
    assert env.client.post("/members/me/join/acme", headers={**fh, **WAIT}).status_code == 200

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _authenticator(page)
    page.goto(f"{url}/wallet")
    page.click("#pk-join")
    page.wait_for_function(
        "document.getElementById('member-id').textContent.startsWith('M')", timeout=30_000
    )
    member_id = page.inner_text("#member-id")
    # The card's QR is the member id's QR code (segno's output is deterministic).
    assert page.get_attribute("#card-qr", "src") == qr_svg(member_id)
    page.click("#join")
    page.wait_for_function(
        "document.getElementById('join-status').textContent.includes('member of acme')",
        timeout=40_000,
    )
    me = env.client.get(
        "/members/me",
        headers={
            "Authorization": "Bearer " + page.evaluate("sessionStorage.getItem('ll.session')")
        },
    ).json()
    assert me["member_id"] == member_id and me["registered"]
    # The till scans the member card: the QR carries the member id.
    order = {
        "member": member_id,
        "order_id": "till-1",
        "amount": 1_000_000,
        "currency": "VND",
        "items": 2,
    }
    r = env.client.post(
        "/brands/acme/earn/purchase", json=order, headers={**env.h("acme:issuer"), **WAIT}
    )
    assert r.status_code == 200, r.text
    env.index()
    page.reload()
    page.wait_for_function(
        "document.getElementById('balance').dataset.value === '100'", timeout=20_000
    )
    # Gift to a friend by their member id (the managed key signs, the outbox relays).
    page.fill("#gift-to", str(friend["member_id"]))
    page.fill("#gift-amount", "10")
    page.fill("#gift-memo", "coffee on me")
    page.click("#gift button[type=submit]")
    page.wait_for_function(
        "document.getElementById('gift-status').textContent.includes('sent in block')",
        timeout=40_000,
    )
    assert points_of(env, str(friend["address"])) == 10
    # Redeem to a voucher.
    env.index()
    page.reload()
    page.wait_for_selector(f"button.redeem[data-perk='{perk}']", timeout=20_000)
    page.click(f"button.redeem[data-perk='{perk}']")
    page.wait_for_function(
        "document.getElementById('voucher-new').textContent.includes('your voucher')",
        timeout=40_000,
    )
    code = page.inner_text("#vouchers tr.voucher td.code")
    assert page.inner_text("#vouchers tr.voucher td.state") == "open"
    cashier = env.h("acme:cashier")
    assert (
        env.client.get(f"/brands/acme/vouchers/{code}", headers=cashier).json()["perk_name"]
        == "Free latte"
    )
    assert env.client.post(f"/brands/acme/vouchers/{code}", headers=cashier).status_code == 200
    second = env.client.post(f"/brands/acme/vouchers/{code}", headers=cashier)
    assert second.status_code == 409 and second.json()["error"] == "voucher_used"
    page.reload()
    page.wait_for_function(
        "document.querySelector('#vouchers tr.voucher td.state')?.textContent === 'used'",
        timeout=20_000,
    )
    page.screenshot(path=str(ARTIFACTS / "member-wallet.png"), full_page=True)
    # Sign out, then sign in again with the same passkey; capture the assertion on the way.
    page.click("#sign-out")
    page.wait_for_selector("#signin:not([hidden])", timeout=20_000)
    sent: list[str] = []
    page.on(
        "request",
        lambda req: (
            sent.append(req.post_data or "") if req.url.endswith("/auth/passkey/login") else None
        ),
    )
    page.click("#pk-login")
    page.wait_for_function(
        f"document.getElementById('member-id').textContent === '{member_id}'", timeout=30_000
    )
    page.wait_for_selector("#passkeys tr.passkey", timeout=20_000)
    assert page.locator("#passkeys tr.passkey").count() == 1
    assert "passkey" in page.inner_text("#sessions")  # this session, by passkey
    # The same assertion again: its challenge was used.
    replay = httpx.post(
        f"{url}/auth/passkey/login", content=sent[0], headers={"Content-Type": "application/json"}
    )
    assert replay.status_code == 401 and "used already" in replay.json()["detail"], replay.text
    assert json.loads(sent[0])["credential"]["type"] == "public-key"
    assert errors == []
    page.close()


INJECT = """
window.ethereum = {
  async request({ method, params }) {
    if (method === 'eth_requestAccounts' || method === 'eth_accounts')
      return [await window.llAddress()];
    if (method === 'personal_sign') return await window.llSign(params[0]);
    if (method === 'eth_signTypedData_v4') return await window.llSignTyped(params[0], params[1]);
    throw new Error('unsupported ' + method);
  },
};
"""


def test_wallet_member_redeems_to_a_voucher(
    served: tuple[Env, str],
    browser: Any,
) -> None:
    """A member with their own wallet (an injected provider signing with a local key): Redeem
    asks the wallet to sign the burn (EIP-712), and the same voucher and QR appear."""
    env, url = served
    perk = env.client.post(
        "/brands/acme/perks",
        json={"name": "Free scone", "point_cost": 5, "min_points": 5},
        headers=env.h("acme:perk_manager"),
    ).json()["id"]
    acct = Account.create()
    h = env.sign_in(acct)
    assert env.client.post("/members/me/join/acme", headers={**h, **WAIT}).status_code == 200
    order = {
        "member": acct.address,
        "order_id": "w-1",
        "amount": 500_000,
        "currency": "VND",
        "items": 1,
    }
    r = env.client.post(
        "/brands/acme/earn/purchase", json=order, headers={**env.h("acme:issuer"), **WAIT}
    )
    assert r.status_code == 200, r.text
    env.index()
    before = points_of(env, acct.address)
    typed_asked: list[str] = []

    def sign(message_hex: str) -> str:
        return "0x" + bytes(acct.sign_message(encode_defunct(hexstr=message_hex)).signature).hex()

    def sign_typed_data(address: str, typed: str) -> str:
        assert address == acct.address
        typed_asked.append(json.loads(typed)["primaryType"])
        return sign_typed(acct, json.loads(typed))

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.expose_function("llSign", sign)
    page.expose_function("llSignTyped", sign_typed_data)
    page.expose_function("llAddress", lambda: acct.address)
    page.add_init_script(INJECT)
    page.goto(f"{url}/wallet")
    page.click("#connect")
    page.wait_for_selector(f"button.redeem[data-perk='{perk}']", timeout=20_000)
    assert page.is_hidden("#member-card")  # no member account: no card, but vouchers
    page.click(f"button.redeem[data-perk='{perk}']")
    page.wait_for_function(
        "document.getElementById('voucher-new').textContent.includes('your voucher')",
        timeout=40_000,
    )
    assert typed_asked == ["ForwardRequest"]  # the wallet was asked to consent, once
    assert points_of(env, acct.address) == before - 5
    code = page.inner_text("#vouchers tr.voucher td.code")
    assert page.inner_text("#vouchers tr.voucher td.state") == "open"
    assert page.get_attribute("#vouchers tr.voucher img", "src") == qr_svg(code)
    cashier = env.h("acme:cashier")
    r = env.client.post(f"/brands/acme/vouchers/{code}", headers=cashier)
    assert r.status_code == 200 and r.json()["perk_name"] == "Free scone", r.text
    page.reload()
    page.wait_for_function(
        "document.querySelector('#vouchers tr.voucher td.state')?.textContent === 'used'",
        timeout=20_000,
    )
    assert errors == []
    page.close()


def _new_code(inbox: Inbox, to: str, seen: int, timeout: float = 20.0) -> str:
    """The code in the first mail to `to` after the first `seen` mails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(inbox.messages) > seen and any(m["To"] == to for m in inbox.messages[seen:]):
            return inbox.last_code(to)
        time.sleep(0.05)
    raise AssertionError(f"no new mail to {to}")


def test_email_member_journey_with_a_step_up(
    served: tuple[Env, str],
    smtp: tuple[Inbox, int],  # noqa: F811
    browser: Any,
) -> None:
    """Sign up with an email code in the page (the code read from the SMTP server), join, earn
    at the till by the member id, then a gift above the brand's amount asks for a fresh code
    in the page's step-up card, and goes through with it; then the member joins a second
    brand."""
    env, url = served
    inbox, email = smtp[0], f"w{uuid.uuid4().hex[:8]}@example.test"
    rule = {"currency": "VND", "amount_per_point": 10_000, "bonuses": {"signup": 0}}
    r = env.client.put("/brands/acme/earn-rule", json=rule, headers=env.h("acme:issuer"))
    assert r.status_code == 200, r.text
    limits = {"step_up_above": 5, "voucher_ttl": 3600}
    h = env.h("acme:perk_manager")
    r = env.client.put("/brands/acme/member-settings", json=limits, headers=h)
    assert r.status_code == 200, r.text
    friend = email_sign_in(env, inbox, f"f{uuid.uuid4().hex[:8]}@example.test")
    fh = {"Authorization": f"Bearer {friend['token']}"}
    assert env.client.post("/members/me/join/acme", headers={**fh, **WAIT}).status_code == 200
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/wallet")
    seen = len(inbox.messages)
    page.fill("#email", email)
    page.click("#email-form button[type=submit]")
    page.wait_for_selector("#code-form:not([hidden])", timeout=20_000)
    page.fill("#code", _new_code(inbox, email, seen))
    page.click("#code-form button[type=submit]")
    page.wait_for_function(
        "document.getElementById('member-id').textContent.startsWith('M')", timeout=30_000
    )
    member_id = page.inner_text("#member-id")
    page.wait_for_function(
        "document.getElementById('sessions').textContent.includes('email')", timeout=20_000
    )
    page.click("#join")
    page.wait_for_function(
        "document.getElementById('join-status').textContent.includes('member of acme')",
        timeout=40_000,
    )
    order = {"member": member_id, "order_id": "e-1", "amount": 500_000, "currency": "VND"}
    order["items"] = 1
    r = env.client.post(
        "/brands/acme/earn/purchase", json=order, headers={**env.h("acme:issuer"), **WAIT}
    )
    assert r.status_code == 200, r.text
    env.index()
    page.reload()
    page.wait_for_function(
        "document.getElementById('balance').dataset.value === '50'", timeout=20_000
    )
    # The sign-in is no longer fresh: a gift above 5 points asks for a code in the page.
    with env.state.engine.begin() as conn:
        t = table(MemberSession)
        conn.execute(update(t).values(auth_at=int(time.time()) - 3600))
    seen = len(inbox.messages)
    page.fill("#gift-to", str(friend["member_id"]))
    page.fill("#gift-amount", "6")
    page.click("#gift button[type=submit]")
    page.wait_for_selector("#stepup-card:not([hidden])", timeout=20_000)
    page.fill("#stepup-code", _new_code(inbox, email, seen))
    page.click("#stepup-form button[type=submit]")
    page.wait_for_function(
        "document.getElementById('gift-status').textContent.includes('sent in block')",
        timeout=40_000,
    )
    assert page.is_hidden("#stepup-card")
    assert points_of(env, str(friend["address"])) == 6
    # Joined acme, the member still joins beta (each brand once, with its own welcome).
    assert page.is_hidden("#join")
    page.select_option("#brand", "beta")
    page.wait_for_selector("#join:not([hidden])", timeout=20_000)
    assert page.inner_text("#join") == "Join beta"
    page.click("#join")
    page.wait_for_function(
        "document.getElementById('join-status').textContent.includes('member of beta')",
        timeout=40_000,
    )
    page.wait_for_selector("#join[hidden]", state="attached", timeout=20_000)
    assert errors == []
    page.close()
