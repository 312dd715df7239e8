"""A purchase carries the order's own point-of-sale time (`ordered_at`): stored, returned, at
most 5 minutes in the future, not before the programme began, now by default; an idempotent
retry keeps the first record, and the same order id with other details is a 409."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme import earn
from loyalty_ledger.store.offchain import EarnRecord, table

from .conftest import Env

pytestmark = pytest.mark.chain
PURCHASE, BATCH = "/brands/acme/earn/purchase", "/brands/acme/earn/batch"
T = table(EarnRecord)


def _order(env: Env, member: str | None = None, **over: Any) -> dict[str, Any]:
    body = {
        "member": member or env.new_member().address,
        "order_id": f"pos-{uuid.uuid4().hex[:10]}",
        "amount": 120_000,
        "currency": "VND",
        "items": 2,
    }
    return {**body, **over}


def _start(env: Env) -> int:
    """When acme's programme began (its points contract's deployment block)."""
    return earn.programme_start(env.w3, env.deployment.program("acme"))


def _at(ts: int, tz: timezone = UTC) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(tz).isoformat()


def _stored(env: Env, order_id: str) -> dict[str, Any]:
    with env.state.engine.connect() as conn:
        row = conn.execute(select(T).where(T.c.order_id == order_id)).mappings().one()
    return dict(row)


def _err(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail"} and body["error"] == code, body
    return body


def test_purchase_with_ordered_at_is_stored_and_returned(env: Env) -> None:
    hanoi = timezone(timedelta(hours=7))
    expected = _start(env) + 1  # a second after the programme began
    when = datetime.fromtimestamp(expected, UTC).astimezone(hanoi).replace(microsecond=250_000)
    body = _order(env, ordered_at=when.isoformat())
    r = env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer"))
    assert r.status_code == 200, r.text
    assert r.json()["ordered_at"] == expected and r.json()["points"] == 12
    row = _stored(env, body["order_id"])
    assert row["ordered_at"] == expected
    assert row["created_at"] >= int(time.time()) - 60  # recorded now, ordered earlier
    # the earnings listing carries it too
    earnings = env.client.get("/brands/acme/earnings", headers=env.h("auditor")).json()
    assert {e["order_id"]: e["ordered_at"] for e in earnings}[body["order_id"]] == expected
    # "Z" works as well
    body2 = _order(env, ordered_at=_at(expected).replace("+00:00", "Z"))
    r2 = env.client.post(PURCHASE, json=body2, headers=env.h("acme:issuer"))
    assert r2.status_code == 200 and r2.json()["ordered_at"] == expected, r2.text


def test_ordered_at_defaults_to_now(env: Env) -> None:
    before = int(time.time())
    body = _order(env)
    r = env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer"))
    after = int(time.time())
    assert r.status_code == 200, r.text
    assert before <= r.json()["ordered_at"] <= after
    row = _stored(env, body["order_id"])
    assert row["ordered_at"] == row["created_at"]
    # an explicit null is the default too
    body = _order(env, ordered_at=None)
    r = env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer"))
    assert r.status_code == 200 and before <= r.json()["ordered_at"] <= int(time.time())
    # actions carry the claim time
    m = env.new_member()
    r = env.client.post(
        "/brands/acme/earn/action",
        json={"member": m.address, "action": "visit", "action_id": uuid.uuid4().hex},
        headers=env.h("acme:issuer"),
    )
    assert r.status_code == 200 and before <= r.json()["ordered_at"] <= int(time.time()), r.text


def test_future_ordered_at_is_422_and_not_claimed(env: Env) -> None:
    m = env.new_member()
    future = datetime.now(UTC) + timedelta(minutes=10)
    body = _order(env, m.address, ordered_at=future.isoformat())
    err = _err(
        env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer")), 422, "invalid_input"
    )
    assert "ordered_at" in err["detail"] and "future" in err["detail"]
    with env.state.engine.connect() as conn:
        assert conn.execute(select(T).where(T.c.order_id == body["order_id"])).first() is None
    # within the 5-minute allowance for clock skew: accepted
    soon = datetime.now(UTC) + timedelta(minutes=4)
    r = env.client.post(
        PURCHASE, json={**body, "ordered_at": soon.isoformat()}, headers=env.h("acme:issuer")
    )
    assert r.status_code == 200 and r.json()["ordered_at"] == int(soon.timestamp()), r.text


@pytest.mark.parametrize(
    "value",
    ["2026-01-15T11:30:05", "2026-01-15", "yesterday", 1_768_476_605, "1768476605", True],
)
def test_ordered_at_needs_iso_8601_with_timezone(env: Env, value: Any) -> None:
    body = _order(env, "0x" + "ab" * 20, ordered_at=value)
    err = _err(
        env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer")), 422, "validation_error"
    )
    assert err["detail"].startswith("ordered_at:")


def test_ordered_at_before_the_programme_began_is_422(env: Env) -> None:
    start = _start(env)
    for when in (start - 1, 946_684_799, 0):
        body = _order(env, "0x" + "ab" * 20, ordered_at=_at(when))
        err = _err(
            env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer")),
            422,
            "invalid_input",
        )
        assert "before the programme began" in err["detail"], err
        assert _stored_or_none(env, body["order_id"]) is None
    batch = {"orders": [_order(env, "0x" + "ab" * 20, ordered_at=_at(start - 3600))]}
    _err(env.client.post(BATCH, json=batch, headers=env.h("acme:issuer")), 422, "invalid_input")


def _stored_or_none(env: Env, order_id: str) -> Any:
    with env.state.engine.connect() as conn:
        return conn.execute(select(T).where(T.c.order_id == order_id)).first()


def test_retry_with_same_order_id_keeps_the_first_record(env: Env) -> None:
    m = env.new_member()
    first = _start(env) + 2
    body = _order(env, m.address, ordered_at=_at(first))
    r1 = env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer"))
    assert r1.status_code == 200 and r1.json()["duplicate"] is False, r1.text
    # the same order again (the same time, in another notation): a replay
    again = {**body, "ordered_at": _at(first, timezone(timedelta(hours=-5)))}
    r2 = env.client.post(PURCHASE, json=again, headers=env.h("acme:issuer"))
    assert r2.status_code == 200 and r2.json()["duplicate"] is True, r2.text
    assert r2.json()["id"] == r1.json()["id"]
    assert r2.json()["ordered_at"] == first == _stored(env, body["order_id"])["ordered_at"]
    # the same order id with another time, amount or member: a conflict, nothing earned
    for over in (
        {"ordered_at": _at(first + 60)},
        {"amount": 130_000},
        {"member": "0x" + "cd" * 20},
    ):
        r3 = env.client.post(PURCHASE, json={**body, **over}, headers=env.h("acme:issuer"))
        _err(r3, 409, "idempotency_conflict")
    assert _stored(env, body["order_id"])["order_amount"] == body["amount"]


def test_batch_carries_each_orders_time(env: Env) -> None:
    a, b = env.new_member(), env.new_member()
    when = _start(env) + 3
    orders = [
        _order(env, a.address, ordered_at=_at(when, timezone(timedelta(hours=7)))),
        _order(env, b.address),  # default: now
    ]
    before = int(time.time())
    r = env.client.post(BATCH, json={"orders": orders}, headers=env.h("acme:issuer"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got[0]["ordered_at"] == when
    assert before <= got[1]["ordered_at"] <= int(time.time())
    # one order in the future: the whole batch is refused, nothing claimed
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    bad = [_order(env, a.address), _order(env, b.address, ordered_at=future)]
    _err(
        env.client.post(BATCH, json={"orders": bad}, headers=env.h("acme:issuer")),
        422,
        "invalid_input",
    )
    with env.state.engine.connect() as conn:
        ids = [o["order_id"] for o in bad]
        assert conn.execute(select(T).where(T.c.order_id.in_(ids))).first() is None


def test_order_time_unit() -> None:
    now = 1_800_000_000.0
    assert earn.order_time(None, now=now) is None
    assert earn.order_time(datetime.fromtimestamp(now + 300, UTC), now=now) == 1_800_000_300
    assert earn.order_time("2026-01-15T11:30:05.9Z", now=now) == 1_768_476_605
    with pytest.raises(InvalidInput, match="future"):
        earn.order_time(datetime.fromtimestamp(now + 301, UTC), now=now)
    with pytest.raises(InvalidInput, match="timezone"):
        earn.order_time(datetime(2026, 1, 15), now=now)
    with pytest.raises(InvalidInput, match="timezone"):
        earn.order_time("not a time", now=now)
    # not before the programme began, and never before 2000-01-01
    assert earn.order_time("2000-01-01T00:00:00Z", now=now) == 946_684_800
    with pytest.raises(InvalidInput, match="before the programme began"):
        earn.order_time("1999-12-31T23:59:59Z", now=now)
    with pytest.raises(InvalidInput, match="before the programme began"):
        earn.order_time(datetime.fromtimestamp(now - 11, UTC), now=now, earliest=int(now) - 10)
