"""A purchase carries the order's own point-of-sale time (`ordered_at`): stored, returned, at
most 5 minutes in the future, now by default; an idempotent retry keeps the first record."""

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


def test_purchase_with_ordered_at_is_stored_and_returned(env: Env) -> None:
    hanoi = timezone(timedelta(hours=7))
    when = datetime(2026, 1, 15, 18, 30, 5, 250_000, tzinfo=hanoi)  # 11:30:05.25 UTC
    body = _order(env, ordered_at=when.isoformat())
    r = env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer"))
    assert r.status_code == 200, r.text
    expected = int(datetime(2026, 1, 15, 11, 30, 5, tzinfo=UTC).timestamp())
    assert r.json()["ordered_at"] == expected and r.json()["points"] == 12
    row = _stored(env, body["order_id"])
    assert row["ordered_at"] == expected
    assert row["created_at"] >= int(time.time()) - 60  # recorded now, ordered in January
    # the earnings listing carries it too
    earnings = env.client.get("/brands/acme/earnings", headers=env.h("auditor")).json()
    assert {e["order_id"]: e["ordered_at"] for e in earnings}[body["order_id"]] == expected
    # "Z" works as well
    body2 = _order(env, ordered_at="2026-01-15T11:30:05Z")
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


def test_retry_with_same_order_id_keeps_the_first_record(env: Env) -> None:
    m = env.new_member()
    body = _order(env, m.address, ordered_at="2026-03-01T09:00:00Z")
    r1 = env.client.post(PURCHASE, json=body, headers=env.h("acme:issuer"))
    assert r1.status_code == 200 and r1.json()["duplicate"] is False, r1.text
    r2 = env.client.post(
        PURCHASE,
        json={**body, "ordered_at": "2026-03-02T09:00:00Z"},
        headers=env.h("acme:issuer"),
    )
    assert r2.status_code == 200 and r2.json()["duplicate"] is True
    assert r2.json()["id"] == r1.json()["id"]
    first = int(datetime(2026, 3, 1, 9, tzinfo=UTC).timestamp())
    assert r2.json()["ordered_at"] == first == _stored(env, body["order_id"])["ordered_at"]


def test_batch_carries_each_orders_time(env: Env) -> None:
    a, b = env.new_member(), env.new_member()
    orders = [
        _order(env, a.address, ordered_at="2026-02-10T08:00:00+07:00"),
        _order(env, b.address),  # default: now
    ]
    before = int(time.time())
    r = env.client.post(BATCH, json={"orders": orders}, headers=env.h("acme:issuer"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got[0]["ordered_at"] == int(datetime(2026, 2, 10, 1, tzinfo=UTC).timestamp())
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
