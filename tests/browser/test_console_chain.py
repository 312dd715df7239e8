"""The console's chain journeys in real Chromium on a real anvil, on SQLite and PostgreSQL: a
brand approves a pending exchange from the console (signed by its own key through the outbox);
sets its tier rule and evaluates members; runs a campaign whose rule pays a purchase, then sees
the earning explained on the member's 360° page. A viewer gets no approve button."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from pydantic import SecretStr

from api.deps import ApiOptions
from api.main import create_app, serve
from loyalty_ledger import auth, ledger
from loyalty_ledger.chain.anvil import Anvil, free_port
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment, add_brand, deploy_network
from loyalty_ledger.chain.sender import Sender, connect
from loyalty_ledger.config import ANVIL_DEV_KEYS, Settings
from loyalty_ledger.indexer import run_indexer
from loyalty_ledger.ledger import exchange

from ..pg import fresh_schema, pg_available
from .console_site import SHOTS
from .test_pages import _watch

OPERATOR_KEY, BRAND_KEY, OTHER_KEY = ANVIL_DEV_KEYS[0], ANVIL_DEV_KEYS[1], ANVIL_DEV_KEYS[5]
ALICE = Account.create()


@dataclass
class Network:
    node: Anvil
    dep: Deployment
    op: Sender


@dataclass
class ChainConsole:
    url: str
    settings: Settings
    keys: dict[str, str]
    net: Network
    exchange_id: int

    def page(self, browser: Any, who: str) -> tuple[Any, list[str]]:
        page = browser.new_page()
        errors = _watch(page)
        page.goto(f"{self.url}/console#brand=acme&key={self.keys[who]}")
        page.wait_for_selector("#nav:not([hidden])", timeout=15_000)
        return page, errors

    def index(self) -> None:
        run_indexer(self.settings, follow=False, progress=False, poll_interval=0.02)


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    """acme (administered by the API's brand key) and beta (another admin), one member."""
    with Anvil(port=0) as node:
        w3 = connect(node.url)
        op = Sender(w3, OPERATOR_KEY, decoder=error_decoder())
        dep = deploy_network(w3, op)
        for bid, key in (("acme", BRAND_KEY), ("beta", OTHER_KEY)):
            admin = Account.from_key(key).address
            add_brand(
                w3, op, dep, brand_id=bid, name=bid, symbol=bid.upper(), admin=admin,
                tiers=["Basic", "Silver", "Gold"],
            )  # fmt: skip
        ledger.register_members(sender=op, deployment=dep, members=[ALICE.address])
        yield Network(node, dep, op)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def chain_console(
    request: pytest.FixtureRequest, network: Network, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChainConsole]:
    if request.param == "postgresql" and not pg_available():
        pytest.skip("PostgreSQL variant skipped: no server at 127.0.0.1:5432")
    tmp = tmp_path_factory.mktemp(f"console-chain-{request.param}")
    eid, _ = exchange.register_exchange(
        sender=network.op, deployment=network.dep, from_brand="acme", to_brand="beta",
        rate_from=10, rate_to=8, daily_cap=100, budget=1000,
    )  # fmt: skip
    network.dep.save(tmp / "deployment.json")
    with fresh_schema("console") if request.param == "postgresql" else _sqlite(tmp) as url:
        yield from _serve(url, tmp, network, eid)


class _sqlite:
    def __init__(self, tmp: Path) -> None:
        self.url = f"sqlite:///{tmp / 'api.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_exc: object) -> None:
        return None


def _serve(url: str, tmp: Path, network: Network, eid: int) -> Iterator[ChainConsole]:
    port = free_port()
    settings = Settings(
        rpc_url=network.node.url,
        database_url=url,
        deployment_file=tmp / "deployment.json",
        data_dir=tmp,
        operator_key=SecretStr(OPERATOR_KEY),
        brand_key=SecretStr(BRAND_KEY),
        api_port=port,
        _env_file=None,  # type: ignore[call-arg]
    )
    run_indexer(settings, follow=False, progress=False)  # migrates, then backfills
    origin = f"127.0.0.1:{port}"
    app = create_app(settings, options=ApiOptions(siwe_domain=origin, siwe_uri=f"http://{origin}"))
    engine = app.state.api.engine

    def key(*roles: str) -> str:
        return auth.create_api_key(engine=engine, kind="brand", brand_id="acme", roles=roles)[1]

    keys = {"manager": key("programme_manager", "issuer"), "viewer": key("viewer")}
    stop, ready = threading.Event(), threading.Event()
    thread = serve(settings, stop, app=app, ready=ready)
    assert ready.wait(20), "the API did not start"
    try:
        yield ChainConsole(f"http://{origin}", settings, keys, network, eid)
    finally:
        stop.set()
        app.state.api.stop.set()
        thread.join(10)


def test_approve_an_exchange_from_the_console(chain_console: ChainConsole, browser: Any) -> None:
    c, eid = chain_console, chain_console.exchange_id
    viewer, viewer_errors = c.page(browser, "viewer")
    viewer.click("#nav a[data-view=exchanges]")
    viewer.wait_for_selector(f"#exchanges td:text-is('{eid}')")
    assert viewer.locator("#exchanges button").count() == 0
    viewer.close()
    page, errors = c.page(browser, "manager")
    page.click("#nav a[data-view=exchanges]")
    row = page.locator("#exchanges tr", has=page.locator(f"td:text-is('{eid}')"))
    row.locator("button", has_text="Approve").click()
    page.wait_for_function(
        f"document.querySelector('#status').textContent.startsWith('exchange {eid}: approved')",
        timeout=30_000,
    )
    w3 = c.net.op.w3
    info = exchange.exchange_of(w3=w3, deployment=c.net.dep, exchange_id=eid)
    assert (info.approved_from, info.approved_to, info.status) == (True, False, "pending")
    c.index()
    page.click("#nav a[data-view=exchanges]")
    row = page.locator("#exchanges tr", has=page.locator(f"td:text-is('{eid}')"))
    row.locator("td:text('yes / no')").wait_for()
    assert row.locator("button", has_text="Approve").count() == 0
    assert row.locator("button", has_text="Pause").count() == 1
    page.screenshot(path=str(SHOTS / "console-exchanges.png"), full_page=True)
    assert errors == [] and viewer_errors == []
    page.close()


def test_tier_rule_and_evaluation(chain_console: ChainConsole, browser: Any) -> None:
    c = chain_console
    page, errors = c.page(browser, "manager")
    page.click("#nav a[data-view=tiers]")
    page.wait_for_function("document.querySelector('#tier-now').textContent.includes('No tier')")
    page.select_option("#tier-metric", "points")
    page.fill("#tier-window", "180")
    page.fill("#tier-grace", "14")
    page.locator("#tier-thresholds .t-min").first.fill("500")
    page.click("#tier-add")
    page.locator("#tier-thresholds .t-tier").nth(1).fill("2")
    page.locator("#tier-thresholds .t-min").nth(1).fill("2000")
    page.click("#tier-form button[type=submit]")
    page.wait_for_selector("#tier-table td:text('2,000')")
    rule = httpx.get(
        f"{c.url}/brands/acme/tier-rule", headers={"X-API-Key": c.keys["viewer"]}
    ).json()
    assert rule == {
        "metric": "points",
        "window_days": 180,
        "grace_days": 14,
        "thresholds": [{"tier": 1, "min": 500}, {"tier": 2, "min": 2000}],
        "tiers": [
            {"tier": 0, "name": "Basic"},
            {"tier": 1, "name": "Silver"},
            {"tier": 2, "name": "Gold"},
        ],
    }
    assert page.inner_text("#tier-table").count("·") == 2  # "tier 1 · Silver", "tier 2 · Gold"
    assert "tier 2 · Gold" in page.inner_text("#tier-table")
    page.click("#tier-evaluate")
    page.wait_for_function("document.querySelector('#tier-result').textContent.includes('queued')")
    assert "0 up, 0 down" in page.inner_text("#tier-result")  # nobody holds a pass yet
    page.screenshot(path=str(SHOTS / "console-tiers.png"), full_page=True)
    assert errors == []
    page.close()


def test_campaign_pays_and_the_earning_is_explained(
    chain_console: ChainConsole, browser: Any
) -> None:
    c = chain_console
    page, errors = c.page(browser, "manager")
    page.click("#nav a[data-view=rules]")
    page.wait_for_selector("#rules td:text('base-rate')")
    page.fill("#camp-id", "launch")
    page.fill("#camp-name", "Launch week")
    page.click("#camp-form button[type=submit]")  # from today for 30 days (the defaults)
    page.wait_for_selector("#campaigns td:text('Launch week')")
    page.fill("#rule-id", "launch-bonus")
    page.fill("#rule-name", "Launch bonus")
    page.select_option("#rule-effect", "fixed")
    page.fill("#rule-value", "25")
    page.click("#rule-form button[type=submit]")
    page.wait_for_selector("#rules tr:has-text('launch-bonus') td:text('on')")
    h = {"X-API-Key": c.keys["manager"], "Prefer": "wait=30"}
    currency = httpx.get(f"{c.url}/brands/acme/earn-rule", headers=h).json()["currency"]
    order = {"member": ALICE.address, "order_id": f"o-{time.time_ns()}", "amount": 50_000,
             "currency": currency, "items": 1, "channel": "online"}  # fmt: skip
    r = httpx.post(f"{c.url}/brands/acme/earn/purchase", json=order, headers=h, timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    assert r.json()["points"] == 5 + 25  # 1 point per 10,000, plus the campaign's bonus
    page.click("#nav a[data-view=rules]")
    camp = page.locator("#campaigns tr", has_text="Launch week")
    camp.locator("td:text-is('25')").first.wait_for()  # the cost so far
    page.click("#nav a[data-view=members]")
    page.fill("#member-q", ALICE.address)
    page.click("#member-search button")
    page.wait_for_selector("#member-360:not([hidden])")
    page.locator("#m-orders tr", has_text=order["order_id"]).locator("button").click()
    page.wait_for_selector("#m-explain tr:has-text('Launch bonus')")
    line = page.locator("#m-explain tr", has_text="Launch bonus").inner_text()
    assert "launch" in line and "\t25\t" in line
    assert "sum of the lines" in page.inner_text("#m-explain p.explain")
    page.screenshot(path=str(SHOTS / "console-earning-explained.png"), full_page=True)
    assert errors == []
    page.close()
