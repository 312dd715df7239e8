"""The console's added reads on SQLite and PostgreSQL: CSV exports of rules (JSON cells),
campaigns, earning lines, the brand's own exchanges and its webhook endpoints (never a secret),
member search by referral code with the referral on the 360° page, and what a key may change."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import insert

from loyalty_ledger.programme.rules import campaigns, referrals, store
from loyalty_ledger.store import models as m
from loyalty_ledger.validate import brand_id_bytes

from .conftest import Api
from .test_segments import A, B, seed


def _rows(api: Api, name: str) -> list[dict[str, str]]:
    r = api.client.get(f"/brands/acme/export/{name}.csv", headers=api.h("acme:viewer"))
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text)))


def test_exports_of_rules_campaigns_exchanges_and_webhooks(api: Api) -> None:
    eng = api.engine
    campaigns.put_campaign(
        engine=eng, brand_id="acme", campaign_id="spring", starts_at=1, ends_at=2, budget=10
    )
    store.put_rule(engine=eng, brand_id="acme", rule_id="x2", spec={
        "name": "Double", "trigger": "purchase", "effect": {"type": "multiplier", "percent": 200},
        "conditions": {"channels": ["app"]}, "campaign_id": "spring"})  # fmt: skip
    store.set_active(engine=eng, brand_id="acme", rule_id="x2", active=False)
    store.put_rule(engine=eng, brand_id="beta", rule_id="theirs", spec={
        "trigger": "purchase", "effect": {"type": "fixed", "points": 1}})  # fmt: skip
    with eng.begin() as conn:
        for i, (a, b) in enumerate((("acme", "beta"), ("beta", "gamma"))):
            conn.execute(insert(m.Exchange.__table__).values(  # type: ignore[attr-defined]
                id=i, from_brand="0x" + brand_id_bytes(a).hex(),
                to_brand="0x" + brand_id_bytes(b).hex(), rate_from=10, rate_to=8,
                daily_cap=5, budget=100, approved_from=True, block_number=1))  # fmt: skip
    pm = api.h("acme:perk_manager")
    hook = api.client.post("/brands/acme/webhooks", json={"url": "https://x.example/h"}, headers=pm)
    assert hook.status_code in (200, 201), hook.text
    rules = [r for r in _rows(api, "rules") if r["rule_id"] == "x2"]
    assert [(r["version"], r["active"]) for r in rules] == [("1", "True"), ("2", "False")]
    assert json.loads(rules[0]["effect"]) == {"type": "multiplier", "percent": 200}
    assert json.loads(rules[0]["conditions"]) == {"channels": ["app"]}
    assert all(r["brand_id"] == "acme" for r in _rows(api, "rules"))
    (camp,) = _rows(api, "campaigns")
    assert (camp["campaign_id"], camp["budget"], camp["spent"]) == ("spring", "10", "0")
    (ex,) = _rows(api, "exchanges")  # only the exchanges acme takes part in
    assert (ex["id"], ex["from_brand"], ex["to_brand"]) == ("0", "acme", "beta")
    (wh,) = _rows(api, "webhooks")
    assert wh["url"] == "https://x.example/h" and "secret" not in wh
    assert (
        hook.json()["secret"]
        not in api.client.get("/brands/acme/export/webhooks.csv", headers=api.h("acme:viewer")).text
    )
    assert _rows(api, "earning_lines") == []


def test_search_by_referral_code_and_access(api: Api) -> None:
    seed(api.engine)
    code = referrals.referral_code(engine=api.engine, brand_id="acme", member=B)
    c, v = api.client, api.h("acme:viewer")
    for q in (code, code.lower()):
        found = c.get("/brands/acme/members", params={"q": q}, headers=v).json()["members"]
        assert [x.lower() for x in found] == [B.lower()], q
    assert (
        c.get("/brands/beta/members", params={"q": code}, headers=api.h("beta:viewer")).json()[
            "members"
        ]
        == []
    )  # another brand's code finds nobody
    page = c.get(f"/brands/acme/members/{B}", headers=v).json()
    assert page["referral"]["referral_code"] == code and page["referral"]["referred_by"] is None
    assert c.get(f"/brands/acme/members/{A}", headers=v).json()["referral"] is None
    seen = c.get("/brands/acme/access", headers=v).json()
    assert (seen["manage"], seen["programme"]) == (False, False)
    seen = c.get("/brands/acme/access", headers=api.h("acme:perk_manager")).json()
    assert (seen["manage"], seen["programme"]) == (True, True)
