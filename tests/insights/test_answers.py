"""Insights answers kept in memory: the dashboard's one request equals the endpoints, an answer
is computed once while nothing changes, and again after any commit (a new indexed block, a survey
answer) or once the clock reaches its expiry (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import text, update

from api.routers import insights
from loyalty_ledger.insights.answers import Answers
from loyalty_ledger.store.models import IndexerState
from loyalty_ledger.store.reader import offchain_version

from .conftest import Api

Q = {"from": "2026-01-01", "to": "2026-04-01"}
PARTS = {
    "clv": "clv",
    "churn": "churn",
    "retention": "retention",
    "basket": "basket",
    "frequency": "frequency",
    "top_customers": "top-customers",
    "nps": "nps",
    "points": "points",
}


def _kept(api: Api) -> Answers:
    return api.client.app.state.insights_answers  # type: ignore[attr-defined,no-any-return]


def test_dashboard_is_every_endpoint_in_one_answer(api: Api) -> None:
    h = api.h("acme:viewer")
    # Periods that ended: a running one's answer is as of the second it was computed.
    for q in (Q, {"from": "2025-11-15", "to": "2026-05-01"}):
        board = api.client.get("/brands/acme/insights/dashboard", params=q, headers=h)
        assert board.status_code == 200, board.text
        body = board.json()
        assert body["brand_id"] == "acme" and body["as_of_block"] == 250
        for part, name in PARTS.items():
            alone = api.client.get(f"/brands/acme/insights/{name}", params=q, headers=h).json()
            assert body[part] == alone, part
    other = api.client.get("/brands/acme/insights/dashboard", headers=api.h("beta:viewer"))
    assert other.status_code == 403


def test_dashboard_as_lines_is_the_same_answer(api: Api) -> None:
    """`Accept: application/x-ndjson`: the brand, period and block first, then every part once,
    each equal to the one answer's (the page draws each part as its line arrives)."""
    h = api.h("acme:viewer")
    whole = api.client.get("/brands/acme/insights/dashboard", params=Q, headers=h).json()
    r = api.client.get(
        "/brands/acme/insights/dashboard",
        params=Q,
        headers=h | {"Accept": "application/x-ndjson"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    first, *lines = [json.loads(line) for line in r.text.splitlines()]
    assert first == {k: whole[k] for k in ("brand_id", "period", "as_of_block")}
    assert sorted(x["part"] for x in lines) == sorted(PARTS)
    for x in lines:
        assert x["answer"] == whole[x["part"]], x["part"]
    kept = _kept(api).computed
    again = api.client.get(
        "/brands/acme/insights/dashboard",
        params=Q,
        headers=h | {"Accept": "application/x-ndjson"},
    )
    assert again.text == r.text  # kept whole: every line at once
    if api.engine.dialect.name == "sqlite":  # (PostgreSQL: see the test below)
        assert _kept(api).computed == kept
    refused = api.client.get(
        "/brands/acme/insights/dashboard",
        params=Q,
        headers=api.h("beta:viewer") | {"Accept": "application/x-ndjson"},
    )
    assert refused.status_code == 403 and refused.json()["error"]


def test_answers_are_kept_until_the_database_changes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = api.h("acme:viewer")

    def board() -> dict[str, Any]:
        r = api.client.get("/brands/acme/insights/dashboard", params=Q, headers=h)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    first = board()
    kept = _kept(api).computed
    for _ in range(3):
        assert board() == first
    if api.engine.dialect.name == "sqlite":
        # Nothing computed again. (PostgreSQL's version is the cluster's snapshot: on the
        # shared test server other sessions commit all the time, so only exactness is shown.)
        assert _kept(api).computed == kept
    # A new indexed block (the checkpoint moves): the points economy (it reads the mirror) is
    # computed again and the answer says its block; the metrics of the earn records are kept.
    churned = []
    real = insights.REPORTS["churn"]

    def counted(**kw: Any) -> Any:
        churned.append(1)
        return real(**kw)

    monkeypatch.setitem(insights.REPORTS, "churn", counted)
    with api.engine.begin() as conn:
        conn.execute(update(IndexerState.__table__).values(checkpoint_block=251))  # type: ignore[attr-defined]
    try:
        moved = board()
        assert moved["as_of_block"] == 251 and _kept(api).computed > kept
        assert moved["churn"] == first["churn"] and not churned
    finally:
        with api.engine.begin() as conn:
            conn.execute(update(IndexerState.__table__).values(checkpoint_block=250))  # type: ignore[attr-defined]
    # A survey answer: the NPS part changes at once (in a month no other test reads).
    later = {"from": "2025-06-01", "to": "2025-07-01"}

    def nps() -> dict[str, Any]:
        r = api.client.get("/brands/acme/insights/dashboard", params=later, headers=h)
        return r.json()["nps"]  # type: ignore[no-any-return]

    before = nps()
    body = {"member": "0x" + "5a" * 20, "survey_id": "kept-1", "score": 0}
    body["answered_at"] = 1_749_945_600  # 2025-06-15
    r = api.client.post("/brands/acme/surveys/answers", json=body, headers=api.h("acme:issuer"))
    assert r.status_code == 201, r.text
    after = nps()
    assert after["answers"] == before["answers"] + 1
    assert after["detractors"] == before["detractors"] + 1
    board()
    assert churned  # every metric of the earn records and surveys was computed again


def test_an_answer_expires_with_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    kept, calls = Answers(size=2), []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    now = time.time()
    assert kept.get("k", "v1", compute, lambda: now + 60) == 1
    assert kept.get("k", "v1", compute) == 1  # kept
    assert kept.get("k", "v2", compute) == 2  # another database version
    assert kept.get("k", "v2", compute) == 2
    monkeypatch.setattr(time, "time", lambda: now + 3600)
    kept.get("t", "v2", compute, lambda: now + 3601)
    assert kept.get("t", "v2", compute) == 3  # kept until its time
    monkeypatch.setattr(time, "time", lambda: now + 3602)
    assert kept.get("t", "v2", compute) == 4  # past it: computed again
    kept.get("a", "v2", compute)
    kept.get("b", "v2", compute)
    assert kept.get("t", "v2", compute) == 7  # at most `size` answers are kept


def test_a_running_period_is_kept_within_its_minute(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default period runs (as of now): its answers are kept while nothing they read
    changes, within the minute they were computed in, and say the second they are as of; the
    next minute they are computed again (parts and dashboard alike)."""
    h = api.h("acme:viewer")
    minute = (int(time.time()) // 60 + 1) * 60  # the start of a minute

    def get(path: str) -> dict[str, Any]:
        r = api.client.get(f"/brands/acme/insights/{path}", headers=h)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    monkeypatch.setattr(time, "time", lambda: minute + 1.5)
    first, churn = get("dashboard"), get("churn")
    assert first["period"]["partial"] and churn["period"]["partial"]
    assert first["churn"] == churn and first["period"]["as_of"].endswith(":01Z")
    kept = _kept(api).computed
    monkeypatch.setattr(time, "time", lambda: minute + 59.5)
    assert get("dashboard") == first and get("churn") == churn  # as of the first second
    if api.engine.dialect.name == "sqlite":  # (PostgreSQL: see above)
        assert _kept(api).computed == kept
    monkeypatch.setattr(time, "time", lambda: minute + 60.5)
    later = get("dashboard")
    assert later["period"]["as_of"].endswith(":00Z") and later["period"] != first["period"]
    assert later["churn"]["period"]["as_of"] == later["period"]["as_of"]
    assert _kept(api).computed > kept


def test_every_write_to_the_offchain_tables_is_counted(api: Api) -> None:
    """The triggers of migration 0011: any writer, in its own transaction."""
    seen = {offchain_version(api.engine)}
    first = "WHERE id = (SELECT min(id) FROM {})"
    statements = [
        "UPDATE earn_record SET items_count = items_count " + first.format("earn_record"),
        "UPDATE survey_answer SET comment = comment " + first.format("survey_answer"),
        "INSERT INTO earn_rule (brand_id, currency, amount_per_point, bonuses, updated_at) "
        "VALUES ('counted', 'VND', 1000, '{}', 0)",
        "DELETE FROM earn_rule WHERE brand_id = 'counted'",
    ]
    for sql in statements:
        with api.engine.begin() as conn:
            conn.execute(text(sql))
        now = offchain_version(api.engine)
        assert now not in seen, sql
        seen.add(now)
    with api.engine.begin() as conn:  # a write that is rolled back counts nothing
        conn.execute(text(statements[0]))
        conn.rollback()
    assert offchain_version(api.engine) in seen
