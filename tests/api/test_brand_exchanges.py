"""A brand approves, declines (pauses) and unpauses an exchange through the API, signed by its
own key through the outbox, on a real anvil, on SQLite and PostgreSQL: the grant of the
exchange role comes first, the exchange opens once the other brand (another admin) approves,
and every refusal is a clear 4xx."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from eth_account import Account

from loyalty_ledger import auth
from loyalty_ledger.chain import contracts
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment, add_brand
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.config import ANVIL_DEV_KEYS
from loyalty_ledger.ledger import exchange

from .conftest import Env, onboard_brand

pytestmark = pytest.mark.chain
OTHER_KEY = ANVIL_DEV_KEYS[5]  # the other brand's admin: not the API's brand key


def _other_brand(env: Env, brand_id: str) -> None:
    dep = Deployment.from_json(env.deployment.to_json())
    add_brand(
        env.w3,
        env.state.sender("operator"),
        dep,
        brand_id=brand_id,
        name=brand_id,
        symbol=brand_id.upper()[:16],
        admin=Account.from_key(OTHER_KEY).address,
        tiers=["Basic"],
    )
    env.state.save_deployment(dep)


def _err(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"] == code, r.json()


def test_brand_approves_declines_and_unpauses(any_env: Env) -> None:
    env, tag = any_env, uuid.uuid4().hex[:6]
    src, dst, third = f"ea-{tag}", f"eb-{tag}", f"ec-{tag}"
    onboard_brand(env, src)
    onboard_brand(env, third)
    _other_brand(env, dst)
    op = env.state.sender("operator")
    eid, _ = exchange.register_exchange(
        sender=op, deployment=env.deployment, from_brand=src, to_brand=dst,
        rate_from=10, rate_to=9, daily_cap=100, budget=1000,
    )  # fmt: skip
    url = f"/brands/{src}/exchanges/{eid}"
    _err(env.client.post(f"{url}/approve", headers=env.h(f"{src}:viewer")), 403, "forbidden")
    _err(env.client.post(f"/brands/{src}/exchanges/{10**9}/approve", headers=env.h(f"{src}:all")),
         404, "unknown_exchange")  # fmt: skip
    _err(env.client.post(f"/brands/{third}/exchanges/{eid}/approve", headers=env.h(f"{third}:all")),
         422, "invalid_input")  # fmt: skip
    pm = auth.create_api_key(
        engine=env.state.engine, kind="brand", brand_id=src, roles=["programme_manager"]
    )[1]
    r = env.client.post(f"{url}/approve", headers={"X-API-Key": pm})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["opened"] is False
    info = exchange.exchange_of(w3=env.w3, deployment=env.deployment, exchange_id=eid)
    assert (info.approved_from, info.approved_to) == (True, False)
    points = contracts.at(env.w3, env.deployment.program(src).points, "LoyaltyPoints")
    assert points.functions.hasRole(exchange.EXCHANGE_ROLE, env.deployment.exchange).call()
    # approved already: refused before anything is queued
    _err(env.client.post(f"{url}/approve", headers={"X-API-Key": pm}), 409,
         "exchange_already_approved")  # fmt: skip
    other = Sender(env.w3, OTHER_KEY, decoder=error_decoder())
    a = exchange.approve_exchange(sender=other, deployment=env.deployment, exchange_id=eid)
    assert a.opened
    r = env.client.post(f"{url}/pause", headers=env.h(f"{src}:all"))
    assert r.status_code == 200 and r.json()["paused"] is True, r.text
    info = exchange.exchange_of(w3=env.w3, deployment=env.deployment, exchange_id=eid)
    assert info.paused_from and not info.paused_to and info.status == "paused"
    r = env.client.post(f"{url}/unpause", headers=env.h(f"{src}:all"))
    assert r.status_code == 200, r.text
    assert exchange.exchange_of(w3=env.w3, deployment=env.deployment, exchange_id=eid).status == (
        "open"
    )
    _err(env.client.post(f"{url}/unpause", headers=env.h(f"{src}:all")), 409,
         "exchange_not_paused")  # fmt: skip
    _err(env.client.post(f"{url}/pause", headers=env.h(f"{src}:viewer")), 403, "forbidden")
