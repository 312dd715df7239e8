"""Joining each brand once: a member registered on the network through one brand still joins
another on the wallet page (its own welcome bonus), and `GET /members/me?brand=` tells which
brands they joined; on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid

from ..api.conftest import Env
from .conftest import Inbox, bearer, email_sign_in, points_of

WAIT = {"Prefer": "wait=30"}


def _beta_points(env: Env, address: str, until: int, timeout: float) -> int:
    """The member's beta points once they reach `until`, or what they are after `timeout`
    seconds."""
    deadline = time.monotonic() + timeout
    while (got := points_of(env, address, "beta")) < until and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def test_a_member_joins_each_brand_once(any_m_env: Env, smtp: tuple[Inbox, int]) -> None:
    env = any_m_env
    rule = {"currency": "VND", "amount_per_point": 10_000, "bonuses": {"signup": 7}}
    r = env.client.put("/brands/beta/earn-rule", json=rule, headers=env.h("beta:issuer"))
    assert r.status_code == 200, r.text
    m = email_sign_in(env, smtp[0], f"j{uuid.uuid4().hex[:10]}@example.test")
    h = bearer(str(m["token"]))

    def joined(brand: str) -> bool:
        r = env.client.get(f"/members/me?brand={brand}", headers=h)
        assert r.status_code == 200, r.text
        return bool(r.json()["joined"])

    assert (joined("acme"), joined("beta")) == (False, False)
    assert env.client.post("/members/me/join/acme", headers={**h, **WAIT}).status_code == 200
    me = env.client.get("/members/me?brand=beta", headers=h).json()
    assert me["registered"] is True and me["joined"] is False  # on the network, not at beta
    assert joined("acme") is True
    r = env.client.post("/members/me/join/beta", headers={**h, **WAIT})
    assert r.status_code == 200 and r.json()["status"] == "member", r.text
    assert joined("beta") is True
    assert _beta_points(env, str(m["address"]), 7, 20.0) == 7  # the bonus is queued: mined soon
    again = env.client.post("/members/me/join/beta", headers={**h, **WAIT})
    assert again.status_code == 200 and _beta_points(env, str(m["address"]), 8, 3.0) == 7  # once
    r = env.client.get("/members/me?brand=nope", headers=h)
    assert r.status_code == 404, r.text
    assert "joined" not in env.client.get("/members/me", headers=h).json()
