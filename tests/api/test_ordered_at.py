"""A purchase carries the order's own point-of-sale time (`ordered_at`): stored, returned, at
most 5 minutes in the future and a year in the past, now by default; an idempotent retry keeps
the first record. Times are relative to today: the bounds move with the clock."""

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


def _stored(env: Env, order_id: str) -> dict[str, Any]:
    with env.state.engine.connect() as conn:
        row = conn.execute(select(T).where(T.c.order_id == order_id)).mappings().one()
    return dict(row)


def _err(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail"} and body["error"] == code, body
    return body


def _days_ago(n: int) -> datetime:
    """Midnight UTC n days ago."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(n)


def test_purchase_with_ordered_at_is_stored_and_returned(env: Env) -> None:
    hanoi = timezone(timedelta(hours=7))
    utc = _days_ago(40).replace(hour=11, minute=30, second=5)
    when = (utc + timedelta(microseconds=250_000)).astimezone(hanoi)  # 18:30:05.25 in Hanoi
    body = _order(env, ordered_at=when.isoformat())
    r = env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer"))
    assert r.status_code == 200, r.text
    expected = int(utc.timestamp())
    assert r.json()["ordered_at"] == expected and r.json()["points"] == 12
    row = _stored(env, body["order_id"])
    assert row["ordered_at"] == expected
    assert row["created_at"] >= int(time.time()) - 60  # recorded now, ordered 40 days ago
    # the earnings listing carries it too
    earnings = env.client.get("/brands/acme/earnings", headers=env.h("auditor")).json()
    assert {e["order_id"]: e["ordered_at"] for e in earnings}[body["order_id"]] == expected
    # "Z" works as well
    body2 = _order(env, ordered_at=utc.strftime("%Y-%m-%dT%H:%M:%SZ"))
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


def test_ordered_at_more_than_a_year_back_is_422_and_not_claimed(env: Env) -> None:
    m = env.new_member()
    body = _order(env, m.address, ordered_at=_days_ago(367).isoformat())
    err = _err(
        env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer")), 422, "invalid_input"
    )
    assert "ordered_at" in err["detail"] and "366 days in the past" in err["detail"]
    with env.state.engine.connect() as conn:
        assert conn.execute(select(T).where(T.c.order_id == body["order_id"])).first() is None
    r = env.client.post(
        PURCHASE,
        json={**body, "ordered_at": _days_ago(365).isoformat()},
        headers=env.h("acme:issuer"),
    )
    assert r.status_code == 200, r.text


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


def test_retry_with_same_order_id_keeps_the_first_record(env: Env) -> None:
    m = env.new_member()
    first = _days_ago(30).replace(hour=9)
    body = _order(env, m.address, ordered_at=first.isoformat())
    r1 = env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer"))
    assert r1.status_code == 200 and r1.json()["duplicate"] is False, r1.text
    r2 = env.client.post(
        PURCHASE,
        json={**body, "ordered_at": (first + timedelta(days=1)).isoformat()},
        headers=env.h("acme:issuer"),
    )
    assert r2.status_code == 200 and r2.json()["duplicate"] is True
    assert r2.json()["id"] == r1.json()["id"]
    ts = int(first.timestamp())
    assert r2.json()["ordered_at"] == ts == _stored(env, body["order_id"])["ordered_at"]


def test_batch_carries_each_orders_time(env: Env) -> None:
    a, b = env.new_member(), env.new_member()
    utc = _days_ago(20).replace(hour=1)
    orders = [
        _order(env, a.address, ordered_at=utc.astimezone(timezone(timedelta(hours=7))).isoformat()),
        _order(env, b.address),  # default: now
    ]
    before = int(time.time())
    r = env.client.post(BATCH, json={"orders": orders}, headers=env.h("acme:issuer"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got[0]["ordered_at"] == int(utc.timestamp())
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
    year = 366 * 86_400
    assert earn.order_time(datetime.fromtimestamp(now - year, UTC), now=now) == now - year
    with pytest.raises(InvalidInput, match="366 days in the past"):
        earn.order_time(datetime.fromtimestamp(now - year - 1, UTC), now=now)
    with pytest.raises(InvalidInput, match="in the past"):
        earn.order_time("2016-01-15T11:30:05Z", now=now)  # a typo for 2026
    with pytest.raises(InvalidInput, match="timezone"):
        earn.order_time(datetime(2026, 1, 15), now=now)
    with pytest.raises(InvalidInput, match="timezone"):
        earn.order_time("not a time", now=now)
