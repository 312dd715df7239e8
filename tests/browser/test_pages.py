"""The dashboard and the wallet page in real headless Chromium."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from eth_account.messages import encode_defunct

from api.routers import insights

from ..insights.fixture_data import ACCT, KEYS
from .conftest import ARTIFACTS, Site

Q = "from=2026-01-01&to=2026-04-01"


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: (
            errors.append(f"external request {r.url}")
            if not r.url.startswith(("http://127.0.0.1", "data:"))
            else None
        ),
    )
    return errors


CANVAS_DRAWN = """(id) => {
  const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  return n;
}"""


def test_dashboard(dashboard_site: Site, browser: Any) -> None:
    site = dashboard_site
    key = site.keys["acme:viewer"]
    page = browser.new_page()
    errors = _watch(page)
    page.goto(f"{site.url}/dashboard#brand=acme&key={key}&{Q}")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    page.wait_for_selector("#feed tr:nth-child(2)", timeout=10_000)
    for cid in ("basket", "tiers", "churn", "nps", "clv", "items", "frequency", "points"):
        assert page.evaluate(CANVAS_DRAWN, f"chart-{cid}") > 100, f"chart-{cid} is blank"
    get = lambda name: httpx.get(  # noqa: E731
        f"{site.url}/brands/acme/insights/{name}?{Q}", headers={"X-API-Key": key}
    ).json()
    clv, freq, churn, nps, pts = (get(n) for n in ("clv", "frequency", "churn", "nps", "points"))
    value = lambda k: page.get_attribute(f"#kpi-{k}", "data-value")  # noqa: E731
    text = lambda k: page.inner_text(f"#kpi-{k} .value").replace(",", "")  # noqa: E731
    sub = lambda k: page.inner_text(f"#kpi-{k} .sub").replace(",", "")  # noqa: E731
    spent, life = clv["in_period"], clv["lifetime"]
    assert value("customers") == str(spent["customers"]) == "3"
    assert text("revenue") == str(spent["revenue"]) == "1200000"
    assert sub("revenue") == "previous period 220000"  # Oct-Dec 2025: 70k + 100k + 50k
    # The lifetime value to date is the default CLV; the period's spend is kept beside it.
    assert text("clv") == str(life["mean"]) == "284000"
    assert text("clv-period") == str(spent["clv_mean"]) == "400000"
    assert text("clv-predicted") == str(clv["predicted"]["value"])
    assert text("aov") == str(spent["average_order_value"])
    # Churn is 90 days without a purchase (B and D of A, B, D), with its numerator and denominator.
    assert text("churn") == f"{100 * churn['churn_rate']:.1f}%" == "66.7%"
    assert sub("churn") == "(2 of 3)" and "90 days" in page.inner_text("#kpi-churn .label")
    assert sub("lapsed") == "(2 of 3)"
    assert text("nps") == f"{nps['nps']:.1f}" and sub("nps") == "5 answers"
    assert (
        text("repeat") == f"{100 * freq['repeat_purchase_rate']:.1f}%"
        and sub("repeat") == "(2 of 3)"
    )
    assert text("liability") == str(pts["outstanding_liability"]) == "130"
    # Breakage counts acme's forfeits (no expiry policy), over the points credited.
    assert text("breakage") == f"{100 * pts['breakage_rate']:.1f}%" == "5.6%"
    assert sub("breakage") == "(10 of 180 credited)" and sub("redemption") == "(40 of 180 credited)"
    points_table = page.inner_text("#points")
    assert "expired" in points_table and "books balance" in points_table
    assert "forfeited" in points_table and "credited" in points_table
    assert page.locator("#cohorts tr").count() - 1 == 3  # Jan, Feb, Mar first-purchase cohorts
    # January's cohort (C) bought again in February: its numerator and denominator on hover
    assert page.get_attribute("#cohorts tr:nth-child(2) td:nth-child(4)", "title") == "1 of 1"
    assert page.locator("#cohorts td.partial").count() == 0  # a complete period
    assert "partial" not in page.inner_text("#period-note")
    assert page.locator("#activity-cohorts tr").count() - 1 == 3
    first_top = page.get_attribute("#top-spend tr:nth-child(2) span.addr", "title")
    assert first_top == get("top-customers")["by_spend"][0]["member"]
    assert page.locator("#feed tr").count() == 1 + 9  # header + the fixture's 9 entries
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert errors == []
    page.close()


def test_dashboard_default_period(dashboard_site: Site, browser: Any) -> None:
    """Without dates: the last three full months and this month to date, the month marked."""
    site = dashboard_site
    key = site.keys["acme:viewer"]
    page = browser.new_page()
    errors = _watch(page)
    page.goto(f"{site.url}/dashboard#brand=acme&key={key}")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    period = httpx.get(f"{site.url}/brands/acme/insights/clv", headers={"X-API-Key": key}).json()[
        "period"
    ]
    assert period["partial"] and len(period["partial_months"]) == 1
    this_month = period["partial_months"][0]
    status = page.inner_text("#status")
    assert period["from"][:10] in status and "to date" in status
    assert f"partial month: {this_month}" in page.inner_text("#period-note")
    months = page.evaluate("Chart.getChart('chart-basket').data.labels")
    assert len(months) == 4 and months[-1] == this_month + "*"
    # this month's column of every cohort is marked partial (four cohorts: m+3 of the first)
    assert page.locator("#cohorts td.partial").count() == 4
    assert errors == []
    page.close()


def test_dashboard_draws_each_part_as_it_comes(
    dashboard_site: Site, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard's answer comes as lines, one per part: the charts of the parts computed
    first are drawn while a slow part is still being computed, the page is ready after it."""
    site = dashboard_site
    release = threading.Event()
    churn = insights.REPORTS["churn"]

    def slow(**kw: Any) -> Any:
        release.wait(20)
        return churn(**kw)

    monkeypatch.setitem(insights.REPORTS, "churn", slow)
    page = browser.new_page()
    errors = _watch(page)
    # A period no other test asks for: no part of it is kept yet.
    key = site.keys["acme:viewer"]
    page.goto(f"{site.url}/dashboard#brand=acme&key={key}&from=2025-12-01&to=2026-03-01")
    try:
        page.wait_for_function("window.Chart && Chart.getChart('chart-basket')", timeout=15_000)
        assert page.get_attribute("body", "data-ready") != "1"
        assert page.evaluate(CANVAS_DRAWN, "chart-basket") > 100
        assert page.evaluate("Chart.getChart('chart-churn')") is None
        assert page.get_attribute("#kpi-aov", "data-value")
    finally:
        release.set()
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    assert page.evaluate(CANVAS_DRAWN, "chart-churn") > 100
    assert page.inner_text("#kpi-churn .label").startswith("Churn")
    assert errors == []
    page.close()


INJECT = """
window.ethereum = {
  async request({ method, params }) {
    if (method === 'eth_requestAccounts' || method === 'eth_accounts')
      return [await window.llAddress()];
    if (method === 'personal_sign') return await window.llSign(params[0]);
    throw new Error('unsupported ' + method);
  },
};
"""


def test_wallet_sign_in(site: Site, browser: Any) -> None:
    acct = ACCT["A"]
    page = browser.new_page()
    errors = _watch(page)

    def sign(message_hex: str) -> str:
        text = bytes.fromhex(message_hex[2:]).decode()
        assert text.startswith(site.url.removeprefix("http://") + " wants you to sign in")
        signed = acct.sign_message(encode_defunct(text=text))
        return "0x" + bytes(signed.signature).hex()

    page.expose_function("llSign", sign)
    page.expose_function("llAddress", lambda: acct.address)
    page.add_init_script(INJECT)
    page.goto(f"{site.url}/wallet")
    page.click("#connect")
    page.wait_for_selector("#account:not([hidden])", timeout=15_000)
    page.wait_for_selector("#history tr:nth-child(2)", timeout=10_000)
    summary = httpx.get(
        f"{site.url}/customers/{acct.address}", headers={"X-API-Key": site.keys["operator"]}
    ).json()
    acme = next(p for p in summary["programs"] if p["brand_id"] == "acme")
    assert page.inner_text("#balance") == str(acme["balance"]) == "35"
    assert page.inner_text("#tier") == "Gold" and page.inner_text("#expiry") == "never"
    assert page.inner_text("#address") == acct.address
    assert "Free latte" in page.inner_text("#perks") and "eligible" in page.inner_text("#perks")
    # A's acme entries: issue 100, redeem 40, two gifts out
    assert page.locator("#history tr").count() == 1 + 4
    assert page.inner_text("#lots") == "expires on\tpoints\nnever\t35"  # acme never expires
    page.select_option("#brand", "beta")  # beta: 40 points expire with epoch 40, 50 never
    page.wait_for_function("document.querySelector('#lots').innerText.includes('2029')")
    rows = page.inner_text("#lots").splitlines()
    assert rows == ["expires on\tpoints", "2029-01-13\t40", "never\t50"]
    page.screenshot(path=str(ARTIFACTS / "wallet.png"), full_page=True)
    assert errors == []
    assert KEYS["A"]  # the member's key is the fixture's, never a real one
    page.close()
