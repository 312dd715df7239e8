"""Per-brand keys in the API: a brand without a key is read-only, and no key material leaks
into logs, responses, errors or the database."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select
from web3 import Web3

from api.deps import ApiOptions
from api.main import create_app
from loyalty_ledger import auth, ledger
from loyalty_ledger.chain import keys
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.chain.artifacts import error_decoder
from loyalty_ledger.chain.deploy import Deployment, add_brand
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.config import Settings
from loyalty_ledger.store import outbox as sql_outbox

from .conftest import DOMAIN, OPERATOR_KEY, RELAYER_KEY, URI

PASSWORD = "correct horse battery staple"


def test_brand_without_key_is_read_only_and_no_key_leaks(
    api_network: tuple[Path, Web3],
    api_node: Anvil,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dep_path, w3 = api_network
    op = Sender(w3, OPERATOR_KEY, decoder=error_decoder())
    own = Account.create()
    op.transact({"to": own.address, "value": 10**18})  # type: ignore[typeddict-item]
    dep = Deployment.load(dep_path)
    add_brand(
        w3, op, dep, brand_id="keyed", name="K", symbol="KEY", admin=own.address, tiers=["Basic"]
    )
    my_dep = tmp_path / "deployment.json"
    dep.save(my_dep)
    member = Account.create()
    ledger.register_member(sender=op, deployment=dep, member=member.address)
    settings = Settings(
        rpc_url=api_node.url,
        database_url=f"sqlite:///{tmp_path / 'k.db'}",
        deployment_file=my_dep,
        data_dir=tmp_path,
        operator_key=OPERATOR_KEY,
        relayer_key=RELAYER_KEY,
        dev_keys=False,
        keystore_password=PASSWORD,
        submitter=False,
    )
    keys.import_key(settings, "brand:keyed", own.key, PASSWORD, iterations=2**4)
    caplog.set_level(logging.DEBUG)
    app = create_app(settings, options=ApiOptions(siwe_domain=DOMAIN, siwe_uri=URI))
    assert "brand:acme (read-only): no signing key for brand:acme" in caplog.text
    assert f"brand:keyed: {own.address}" in caplog.text
    eng = app.state.api.engine
    hk = {
        "X-API-Key": auth.create_api_key(
            engine=eng, kind="brand", brand_id="keyed", roles=["issuer"]
        )[1]
    }
    ha = {
        "X-API-Key": auth.create_api_key(
            engine=eng, kind="brand", brand_id="acme", roles=["issuer", "viewer"]
        )[1]
    }
    client = TestClient(app)
    order = {"member": member.address, "amount": 50_000, "currency": "VND", "items": 1}
    bodies: list[str] = []

    def call(method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
        r = client.request(method, url, headers=headers, **kw)
        bodies.append(r.text + str(r.headers))
        return r

    r = call("POST", "/brands/keyed/earn/purchase", hk, json={**order, "order_id": "k-1"})
    assert r.status_code in (200, 202), r.text
    r = call("POST", "/brands/acme/earn/purchase", ha, json={**order, "order_id": "a-1"})
    assert r.status_code == 503 and r.json()["error"] == "key_missing", r.text
    assert "LOYALTY_BRAND_KEY_ACME" in r.json()["detail"]
    # every other write of the brand is refused the same way, before anything is queued
    queued = sql_outbox.counts(eng)
    r = call("POST", "/brands/acme/passes", ha, json={"member": member.address})
    assert r.status_code == 503 and r.json()["error"] == "key_missing", r.text
    r = call("PUT", "/brands/acme/expiry-policy", ha, json={"epochs": 3})
    assert r.status_code == 503 and r.json()["error"] == "key_missing", r.text
    assert sql_outbox.counts(eng) == queued
    assert call("GET", "/brands/acme/ledger", ha).status_code == 200  # reads still work
    stranger = Account.create().address  # not a member: a decoded revert, not a leak
    r = call(
        "POST",
        "/brands/keyed/earn/purchase",
        hk,
        json={**order, "member": stranger, "order_id": "k-2"},
    )
    assert r.status_code in (409, 202), r.text
    rows = []
    meta = MetaData()
    meta.reflect(eng)
    with eng.connect() as conn:
        for t in meta.sorted_tables:
            rows += [str(tuple(row)) for row in conn.execute(select(t))]
    haystack = "\n".join([caplog.text, *bodies, *rows]).lower()
    for secret in (bytes(own.key).hex(), OPERATOR_KEY[2:], RELAYER_KEY[2:]):
        assert secret.lower() not in haystack
    assert PASSWORD.lower() not in haystack
