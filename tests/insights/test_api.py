"""The insights endpoints on the fixture (same figures as test_report), access, surveys."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from loyalty_ledger.insights import report
from loyalty_ledger.insights.period import make_period
from loyalty_ledger.store.insights_tables import T_SURVEY

from .conftest import Api
from .fixture_data import ACME, A, C

Q = {"from": "2026-01-01", "to": "2026-04-01"}
NAMES = ("clv", "churn", "retention", "basket", "frequency", "top-customers", "nps")


@pytest.mark.parametrize("name", NAMES)
def test_endpoint_equals_report(api: Api, name: str) -> None:
    r = api.client.get(f"/brands/acme/insights/{name}", params=Q, headers=api.h("acme:viewer"))
    assert r.status_code == 200, r.text
    fn = getattr(report, name.replace("-", "_"))
    assert r.json() == fn(engine=api.engine, program=ACME, period=make_period(*Q.values()))


def test_figures(api: Api) -> None:
    h = api.h("acme:viewer")
    clv = api.client.get("/brands/acme/insights/clv", params=Q, headers=h).json()
    assert clv["in_period"]["clv_mean"] == 400_000
    assert clv["period"]["from"] == "2026-01-01T00:00:00Z"
    churn = api.client.get("/brands/acme/insights/churn", params=Q, headers=h).json()
    assert churn["activity"]["churn_rate"] == pytest.approx(1 / 3)
    top = api.client.get(
        "/brands/acme/insights/top-customers", params=Q | {"limit": 1}, headers=h
    ).json()
    assert top["by_spend"][0]["member"] == C and top["by_orders"][0]["member"] == A
    pts = api.client.get("/brands/acme/insights/points", headers=h).json()
    assert pts["outstanding_liability"] == 130 and pts["issued"] == 180


def test_access(api: Api) -> None:
    url = "/brands/acme/insights/clv"
    assert api.client.get(url, params=Q).status_code == 401
    assert api.client.get(url, params=Q, headers=api.h("beta:viewer")).status_code == 403
    for who in ("acme:issuer", "operator", "auditor"):
        assert api.client.get(url, params=Q, headers=api.h(who)).status_code == 200
    assert api.client.get("/brands/nope/insights/clv", headers=api.h("operator")).status_code == 404


def test_bad_periods(api: Api) -> None:
    h = api.h("acme:viewer")
    for q in ({"from": "2026-04-01", "to": "2026-01-01"}, {"from": "soon"}, {"to": "2026-13-01"}):
        r = api.client.get("/brands/acme/insights/basket", params=q, headers=h)
        assert r.status_code == 422 and "error" in r.json(), (q, r.text)


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def test_survey_answer(api: Api) -> None:
    when = int(time.time()) - 3 * 86_400  # three days ago: no other answer that day
    body = {"member": A.lower(), "survey_id": "api-q1", "score": 9, "answered_at": when}
    r = api.client.post("/brands/acme/surveys/answers", json=body, headers=api.h("acme:issuer"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["duplicate"] is False and out["answer"]["member"] == A and out["earned"] is None
    again = api.client.post(
        "/brands/acme/surveys/answers", json=body | {"score": 0}, headers=api.h("acme:issuer")
    )
    assert again.json()["duplicate"] is True and again.json()["answer"]["score"] == 9
    nps = api.client.get(
        "/brands/acme/insights/nps",
        params={"from": _day(when), "to": _day(when + 86_400)},
        headers=api.h("acme:viewer"),
    ).json()
    assert nps["answers"] == 1 and nps["nps"] == 100.0


def test_survey_answer_time_is_bounded_like_an_order(api: Api) -> None:
    """A future-dated answer would count in this month's NPS at once: refused, like an order
    time, beyond 5 minutes ahead; and before 2000 (the floor when the node cannot say when the
    programme began: this API has no node). Nothing is stored."""
    url, h = "/brands/acme/surveys/answers", api.h("acme:issuer")
    now = int(time.time())
    for sid, when, word in (
        ("api-future", now + 21 * 86_400, "future"),  # three weeks ahead
        ("api-skew", now + 600, "future"),
        ("api-old", 946_684_799, "before the programme began"),  # 1999-12-31T23:59:59Z
        ("api-far", 2**62, "future"),
    ):
        body = {"member": A, "survey_id": sid, "score": 10, "answered_at": when}
        r = api.client.post(url, json=body, headers=h)
        assert r.status_code == 422, r.text
        err = r.json()
        assert err["error"] == "invalid_input" and "answered_at" in err["detail"], err
        assert word in err["detail"], err
        with api.engine.connect() as conn:
            stored = conn.execute(select(T_SURVEY).where(T_SURVEY.c.survey_id == sid)).first()
        assert stored is None
    # within the clock-skew allowance, and a month back: accepted
    for sid, when in (("api-soon", now + 240), ("api-month", now - 30 * 86_400)):
        body = {"member": A, "survey_id": sid, "score": 8, "answered_at": when}
        r = api.client.post(url, json=body, headers=h)
        assert r.status_code == 201 and r.json()["answer"]["answered_at"] == when, r.text


def test_insights_settings(api: Api) -> None:
    url = "/brands/acme/insights/settings"
    assert api.client.get(url, headers=api.h("acme:viewer")).json() == {
        "brand_id": "acme",
        "churn_days": 90,
    }
    assert (
        api.client.put(url, json={"churn_days": 60}, headers=api.h("acme:viewer")).status_code
        == 403
    )
    assert (
        api.client.put(url, json={"churn_days": 60}, headers=api.h("beta:issuer")).status_code
        == 403
    )
    for bad in ({"churn_days": 0}, {"churn_days": 731}, {"churn_days": "60"}, {"days": 60}):
        r = api.client.put(url, json=bad, headers=api.h("acme:issuer"))
        assert r.status_code == 422 and set(r.json()) == {"error", "detail"}, (bad, r.text)
    try:
        r = api.client.put(url, json={"churn_days": 60}, headers=api.h("acme:issuer"))
        assert r.status_code == 200 and r.json()["churn_days"] == 60, r.text
        churn = api.client.get("/brands/acme/insights/churn", params=Q, headers=api.h("auditor"))
        assert (
            churn.json()["days"] == 60 and churn.json()["definition"] == "no purchase for 60 days"
        )
        other = api.client.get("/brands/beta/insights/settings", headers=api.h("beta:viewer"))
        assert other.json()["churn_days"] == 90  # per brand
    finally:
        api.client.put(url, json={"churn_days": 90}, headers=api.h("acme:issuer"))


def test_survey_rules(api: Api) -> None:
    url = "/brands/acme/surveys/answers"
    ok = {"member": A, "survey_id": "api-q2", "score": 5}
    assert api.client.post(url, json=ok, headers=api.h("acme:viewer")).status_code == 403
    assert api.client.post(url, json=ok, headers=api.h("beta:issuer")).status_code == 403
    for bad in ({"score": 11}, {"score": -1}, {"score": "9"}, {"member": "0x12"}, {"x": 1}):
        r = api.client.post(url, json=ok | bad, headers=api.h("acme:issuer"))
        assert r.status_code in (400, 422), (bad, r.text)
