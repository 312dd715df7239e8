"""The insights endpoints on the fixture (same figures as test_report), access, surveys."""

from __future__ import annotations

import pytest

from loyalty_ledger.insights import report
from loyalty_ledger.insights.period import make_period

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
    assert clv["clv_mean"] == 400_000 and clv["period"]["from"] == "2026-01-01T00:00:00Z"
    churn = api.client.get("/brands/acme/insights/churn", params=Q, headers=h).json()
    assert churn["churn_rate"] == pytest.approx(1 / 3)
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


def test_survey_answer(api: Api) -> None:
    body = {"member": A.lower(), "survey_id": "api-q1", "score": 9, "answered_at": 1_900_000_000}
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
        params={"from": "2030-03-01", "to": "2030-04-01"},
        headers=api.h("acme:viewer"),
    ).json()
    assert nps["answers"] == 1 and nps["nps"] == 100.0


def test_survey_rules(api: Api) -> None:
    url = "/brands/acme/surveys/answers"
    ok = {"member": A, "survey_id": "api-q2", "score": 5}
    assert api.client.post(url, json=ok, headers=api.h("acme:viewer")).status_code == 403
    assert api.client.post(url, json=ok, headers=api.h("beta:issuer")).status_code == 403
    for bad in ({"score": 11}, {"score": -1}, {"score": "9"}, {"member": "0x12"}, {"x": 1}):
        r = api.client.post(url, json=ok | bad, headers=api.h("acme:issuer"))
        assert r.status_code in (400, 422), (bad, r.text)
