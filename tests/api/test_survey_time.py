"""A survey answer's time (`answered_at`) is bounded like an order's: not before the programme
began (the block that deployed its points contract), at most 5 minutes ahead; refused with a
422 that says why, and nothing stored."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from loyalty_ledger.store.insights_tables import T_SURVEY

from .conftest import Env

pytestmark = pytest.mark.chain
URL = "/brands/acme/surveys/answers"


def _start(env: Env) -> int:
    block = env.state.deployment.program("acme").block
    return int(env.w3.eth.get_block(block)["timestamp"])


def _answer(env: Env, when: int | None) -> tuple[str, dict[str, object]]:
    sid = f"nps-{uuid.uuid4().hex[:8]}"
    body: dict[str, object] = {"member": env.new_member().address, "survey_id": sid, "score": 9}
    if when is not None:
        body["answered_at"] = when
    return sid, body


def _stored(env: Env, sid: str) -> bool:
    with env.state.engine.connect() as conn:
        return conn.execute(select(T_SURVEY).where(T_SURVEY.c.survey_id == sid)).first() is not None


def test_answer_before_the_programme_or_ahead_is_refused(env: Env) -> None:
    start, now = _start(env), int(time.time())
    for when, word in ((start - 1, "before the programme began"), (now + 21 * 86_400, "future")):
        sid, body = _answer(env, when)
        r = env.client.post(URL, json=body, headers=env.h("acme:issuer"))
        assert r.status_code == 422, r.text
        err = r.json()
        assert err["error"] == "invalid_input" and "answered_at" in err["detail"], err
        assert word in err["detail"], err
        assert not _stored(env, sid)
    for when in (start, now + 240, None):  # the programme's first second, clock skew, default
        sid, body = _answer(env, when)
        r = env.client.post(URL, json=body, headers=env.h("acme:issuer"))
        assert r.status_code == 201, r.text
        assert _stored(env, sid)
