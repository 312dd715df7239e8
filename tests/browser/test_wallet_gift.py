"""The wallet page's gift on a real chain, in real Chromium: the relayed gift is queued in the
outbox; answered 202 Accepted (the test strips the page's `Prefer: wait`), the page polls
`/operations/{id}` until the gift is mined and says so."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from api.deps import ApiOptions
from api.main import create_app, serve
from loyalty_ledger import ledger
from loyalty_ledger.chain.anvil import Anvil, free_port
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings
from loyalty_ledger.indexer import run_indexer

from ..api.conftest import sign_typed

OPERATOR_KEY, BRAND_KEY = ANVIL_DEV_KEYS[0], ANVIL_DEV_KEYS[1]
ALICE, BOB = Account.create(), Account.create()

INJECT = """
window.ethereum = {
  async request({ method, params }) {
    if (method === 'eth_requestAccounts' || method === 'eth_accounts')
      return [await window.llAddress()];
    if (method === 'personal_sign') return await window.llSign(params[0]);
    if (method === 'eth_signTypedData_v4') return await window.llSignTyped(params[1]);
    throw new Error('unsupported ' + method);
  },
};
"""


@pytest.fixture(scope="module")
def chain_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    tmp = tmp_path_factory.mktemp("gift")
    with Anvil(port=0) as node:
        w3 = connect(node.url)
        op = Sender(w3, OPERATOR_KEY, decoder=error_decoder())
        dep = deploy_network(w3, op)
        admin = Account.from_key(BRAND_KEY).address
        add_brand(w3, op, dep, brand_id="acme", name="A", symbol="A", admin=admin, tiers=["Basic"])
        ledger.register_members(sender=op, deployment=dep, members=[ALICE.address, BOB.address])
        brand = Sender(w3, BRAND_KEY, decoder=error_decoder())
        program = dep.program("acme")
        ledger.issue_points(sender=brand, program=program, member=ALICE.address, amount=50)
        dep.save(tmp / "deployment.json")
        port = free_port()
        settings = Settings(
            rpc_url=node.url,
            database_url=f"sqlite:///{tmp / 'api.db'}",
            deployment_file=tmp / "deployment.json",
            data_dir=tmp,
            operator_key=OPERATOR_KEY,
            brand_key=BRAND_KEY,
            api_port=port,
            _env_file=None,  # type: ignore[call-arg]
        )
        run_indexer(settings, follow=False, progress=False)
        origin = f"127.0.0.1:{port}"
        app = create_app(
            settings, options=ApiOptions(siwe_domain=origin, siwe_uri=f"http://{origin}")
        )
        stop, ready = threading.Event(), threading.Event()
        thread = serve(settings, stop, app=app, ready=ready)
        assert ready.wait(20), "the API did not start"
        try:
            yield f"http://{origin}", (w3, program)
        finally:
            stop.set()
            app.state.api.stop.set()
            thread.join(10)


def test_a_gift_answered_202_is_followed_until_mined(chain_site: Any, browser: Any) -> None:
    url, (w3, program) = chain_site
    page = browser.new_page()
    seen: list[tuple[str, int]] = []
    page.on("response", lambda r: seen.append((r.url, r.status)))

    def sign(message_hex: str) -> str:
        text = bytes.fromhex(message_hex[2:]).decode()
        return "0x" + bytes(ALICE.sign_message(encode_defunct(text=text)).signature).hex()

    page.expose_function("llSign", sign)
    page.expose_function("llAddress", lambda: ALICE.address)
    page.expose_function("llSignTyped", lambda typed: sign_typed(ALICE, json.loads(typed)))
    page.add_init_script(INJECT)

    def no_wait(route: Any) -> None:  # the API answers 202: the page must poll the operation
        headers = {k: v for k, v in route.request.headers.items() if k.lower() != "prefer"}
        route.continue_(headers=headers)

    page.route("**/customers/*/transfers", no_wait)
    page.goto(f"{url}/wallet")
    page.click("#connect")
    page.wait_for_selector("#account:not([hidden])", timeout=15_000)
    page.fill("#gift-to", BOB.address)
    page.fill("#gift-amount", "12")
    page.fill("#gift-memo", "for you")
    page.click("#gift button[type=submit]")
    page.wait_for_function(
        "/^sent in block \\d+ /.test(document.querySelector('#gift-status').innerText)",
        timeout=30_000,
    )
    assert ledger.balance_of(w3=w3, program=program, member=BOB.address) == 12
    assert any(u.endswith("/transfers") and s == 202 for u, s in seen), seen
    assert any("/operations/" in u and s == 200 for u, s in seen), seen
    page.close()
