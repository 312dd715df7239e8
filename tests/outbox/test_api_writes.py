"""Every API write goes through the outbox (SQLite and PostgreSQL): registrations, freezes and
recoveries signed by the operator key, pass operations and the expiry policy by the brand's key,
relayed transfers and redemptions by the relayer key; each answers 202 and is mined by the
submitter. Refusals (a frozen member, too few points, a bad signature, an unknown brand) are
clear 4xx answers with nothing queued; a burn that fails once queued releases its redemption."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.deps import ApiOptions, AppState
from api.main import create_app
from loyalty_ledger import auth, ledger
from loyalty_ledger.chain.anvil import Anvil
from loyalty_ledger.config import Settings
from loyalty_ledger.indexer import run_indexer
from loyalty_ledger.ledger import gasless, outbox
from loyalty_ledger.programme import perks
from loyalty_ledger.store import outbox as sql

from ..api.conftest import sign_typed, siwe_body
from ..pg import fresh_schema
from .conftest import BRAND_KEY, MEMBERS, OPERATOR_KEY, app_settings

BRAND = Account.from_key(BRAND_KEY)
OPERATOR = Account.from_key(OPERATOR_KEY)


class App:
    """An app whose submitters run only once `go()` is called."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        app = create_app(
            settings, options=ApiOptions(siwe_domain="testserver", siwe_uri="http://testserver")
        )
        self.state: AppState = app.state.api
        self.client = TestClient(app)
        eng = self.state.engine
        self.op = {"X-API-Key": auth.create_api_key(engine=eng, kind="operator")[1]}
        roles = ["issuer", "redeemer", "perk_manager", "viewer"]
        key = auth.create_api_key(engine=eng, kind="brand", brand_id="acme", roles=roles)[1]
        self.brand = {"X-API-Key": key}
        self.stop = threading.Event()

    @property
    def deployment(self) -> Any:
        return self.state.deployment

    def go(self) -> None:
        url = self.state.engine.url.render_as_string(hide_password=False)
        senders = [self.state.sender("operator"), self.state.brand_sender("acme")]
        outbox.start_submitters(
            engine=self.state.engine,
            url=url,
            senders=senders,
            settings=self.settings,
            stop=self.stop,
        )

    def member(self) -> Any:
        """A new registered member (the chain is shared by the SQLite and PostgreSQL runs)."""
        acct = Account.create()
        ledger.register_member(
            sender=self.state.sender("operator"), deployment=self.deployment, member=acct.address
        )
        return acct

    def points(self, acct: Any, amount: int) -> None:
        program = self.deployment.program("acme")
        sender = self.state.brand_sender("acme")
        ledger.issue_points(
            sender=sender, program=program, member=acct.address, amount=amount, reason="signup"
        )

    def index(self) -> None:
        run_indexer(self.settings, follow=False, progress=False, poll_interval=0.02)

    def sign_in(self, acct: Any) -> dict[str, str]:
        env = SimpleNamespace(client=self.client, deployment=self.deployment)
        token = self.client.post("/auth/verify", json=siwe_body(env, acct)).json()["token"]  # type: ignore[arg-type]
        return {"Authorization": f"Bearer {token}"}

    def settled(self, r: Any, h: dict[str, str], signer: str) -> dict[str, Any]:
        """A write's 202 (or, on a fast machine, its settled 200), polled until mined."""
        assert r.status_code in (200, 201, 202), r.text
        if r.status_code == 202:
            assert r.headers["Location"] == f"/operations/{r.json()['operation']['id']}"
        op_id = r.json()["operation"]["id"]
        op = self.client.get(f"/operations/{op_id}", headers={**h, "Prefer": "wait=30"}).json()
        assert op["state"] == "mined", op
        row = sql.intent(self.state.engine, op_id)
        assert row is not None and row["signer"] == signer  # the key that must sign it
        return op

    def counts(self) -> dict[str, int]:
        return sql.counts(self.state.engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, node: Anvil, net: Any, tmp_path: Path) -> Iterator[App]:
    def build(url: str) -> App:
        a = App(app_settings(node, net, tmp_path, url, submitter=False, outbox_batch_ms=0))
        a.index()
        return a

    if request.param == "sqlite":
        a = build(f"sqlite:///{tmp_path / 'api.db'}")
        yield a
        a.stop.set()
        return
    with fresh_schema("obw") as url:
        a = build(url)
        yield a
        a.stop.set()
        time.sleep(0.3)  # the submitters let go of their leases before the schema goes


def _transfer(a: App, acct: Any, h: dict[str, str], to: str, amount: int) -> Any:
    body = {"brand_id": "acme", "kind": "transfer", "to": to, "amount": amount}
    typed = a.client.post(f"/customers/{acct.address}/transfers/prepare", json=body, headers=h)
    assert typed.status_code == 200, typed.text
    signed = {"brand_id": "acme", "message": typed.json()["message"]}
    return signed | {"signature": sign_typed(acct, typed.json())}


def test_every_write_kind_is_queued_then_mined_with_its_key(app: App) -> None:
    a, w3 = app, None
    a.go()
    w3 = a.state.w3
    dep, acme = a.deployment, a.deployment.program("acme")
    new, other = Account.create(), Account.create()
    # the operator key: register, freeze, unfreeze, recover
    r = a.client.post("/admin/members", json={"address": new.address}, headers=a.op)
    a.settled(r, a.op, OPERATOR.address)
    a.settled(
        a.client.post("/admin/members", json={"address": other.address}, headers=a.op),
        a.op,
        OPERATOR.address,
    )
    assert ledger.member_status(w3=w3, deployment=dep, account=new.address).is_member
    a.settled(
        a.client.post(f"/admin/members/{new.address}/freeze", headers=a.op), a.op, OPERATOR.address
    )
    assert ledger.member_status(w3=w3, deployment=dep, account=new.address).frozen
    a.settled(
        a.client.post(f"/admin/members/{new.address}/unfreeze", headers=a.op),
        a.op,
        OPERATOR.address,
    )
    # the brand's key: a pass issued, upgraded, renewed, revoked; the expiry policy
    r = a.client.post("/brands/acme/passes", json={"member": new.address}, headers=a.brand)
    a.settled(r, a.brand, BRAND.address)
    r = a.client.patch(f"/brands/acme/passes/{new.address}", json={"tier": 0}, headers=a.brand)
    assert r.status_code == 409 and r.json()["error"] == "same_tier"  # refused up front
    assert a.client.get("/brands/acme", headers=a.brand).status_code == 200
    r = a.client.post(
        f"/brands/acme/passes/{new.address}/renew", json={"expires_at": 0}, headers=a.brand
    )
    a.settled(r, a.brand, BRAND.address)
    a.settled(
        a.client.delete(f"/brands/acme/passes/{new.address}", headers=a.brand),
        a.brand,
        BRAND.address,
    )
    assert ledger.pass_of(w3=w3, program=acme, member=new.address) is None
    policy = a.client.put("/brands/acme/expiry-policy", json={"epochs": 0}, headers=a.brand)
    a.settled(policy, a.brand, BRAND.address)
    # the relayer key (the operator's here): a customer's signed transfer
    a.points(new, 50)
    h = a.sign_in(new)
    r = a.client.post(
        f"/customers/{new.address}/transfers",
        json=_transfer(a, new, h, other.address, 20),
        headers=h,
    )
    op = a.settled(r, h, OPERATOR.address)
    assert op["idem_key"].startswith(f"relay:{new.address}:")
    assert ledger.balance_of(w3=w3, program=acme, member=other.address) == 20
    # the operator recovers the lost wallet (its 30 points move)
    r = a.client.post(
        f"/admin/members/{new.address}/recover", json={"new_wallet": other.address}, headers=a.op
    )
    a.settled(r, a.op, OPERATOR.address)
    assert ledger.balance_of(w3=w3, program=acme, member=other.address) == 50
    assert not {"queued", "sent"} & set(a.counts())


def test_refusals_are_clear_and_queue_nothing(app: App) -> None:
    a = app
    a.go()
    w3, dep, acme = a.state.w3, a.deployment, a.deployment.program("acme")
    alice, bob, mallory = a.member(), MEMBERS[11], Account.create()
    a.points(alice, 10)
    h = a.sign_in(alice)
    before = a.counts()
    # a bad signature
    body = _transfer(a, alice, h, bob.address, 5)
    forged = body | {
        "signature": sign_typed(
            mallory,
            a.client.post(
                f"/customers/{alice.address}/transfers/prepare",
                json={"brand_id": "acme", "kind": "transfer", "to": bob.address, "amount": 5},
                headers=h,
            ).json(),
        )
    }
    r = a.client.post(f"/customers/{alice.address}/transfers", json=forged, headers=h)
    assert r.status_code == 400 and r.json()["error"] == "invalid_signature", r.text
    # more points than the member holds (signed without the API's prepare, which refuses it)
    call = ledger.transfer_call(w3=w3, program=acme, to=bob.address, amount=1000)
    req = gasless.sign_forward_request(w3=w3, deployment=dep, signer=alice, call=call, gas=200_000)
    greedy = {"brand_id": "acme", "message": _message(req), "signature": "0x" + req.signature.hex()}
    r = a.client.post(f"/customers/{alice.address}/transfers", json=greedy, headers=h)
    assert r.status_code == 409 and r.json()["error"] == "insufficient_points", r.text
    # a frozen member
    ledger.freeze_member(sender=a.state.sender("operator"), deployment=dep, member=alice.address)
    try:
        r = a.client.post(f"/customers/{alice.address}/transfers", json=body, headers=h)
        assert r.status_code == 409 and r.json()["error"] == "account_frozen", r.text
    finally:
        ledger.unfreeze_member(
            sender=a.state.sender("operator"), deployment=dep, member=alice.address
        )
    # an unknown brand; a registration of a member already registered
    r = a.client.post("/brands/nope/passes", json={"member": bob.address}, headers=a.op)
    assert r.status_code == 404 and r.json()["error"] == "unknown_program", r.text
    r = a.client.post("/admin/members", json={"address": bob.address}, headers=a.op)
    assert r.status_code == 409 and r.json()["error"] == "already_member", r.text
    assert a.counts() == before  # nothing queued, nothing stuck
    # the good one still goes through, once
    r = a.client.post(f"/customers/{alice.address}/transfers", json=body, headers=h)
    a.settled(r, h, OPERATOR.address)
    assert ledger.balance_of(w3=w3, program=acme, member=alice.address) == 5


def _message(req: Any) -> dict[str, Any]:
    msg = req.message()
    return {**msg, "data": "0x" + msg["data"].hex()}


def test_a_burn_that_fails_once_queued_releases_the_redemption(app: App) -> None:
    a = app
    w3, dep, acme = a.state.w3, a.deployment, a.deployment.program("acme")
    carol = a.member()
    a.points(carol, 20)
    a.index()
    perk = a.client.post(
        "/brands/acme/perks",
        json={"name": f"p-{uuid.uuid4().hex[:6]}", "point_cost": 7, "total_stock": 5},
        headers=a.brand,
    ).json()
    h = a.sign_in(carol)
    typed = a.client.post(f"/perks/{perk['id']}/redeem/prepare", json={}, headers=h).json()
    body = {"forward": {"message": typed["message"], "signature": sign_typed(carol, typed)}}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = a.client.post(f"/perks/{perk['id']}/redeem", json=body, headers={**h, **key})
    assert r.status_code == 202 and r.json()["status"] == "pending", r.text  # no submitter yet
    got = a.client.get(f"/perks/{perk['id']}", headers=a.brand).json()
    assert got["redeemed_count"] == 1  # stock taken with the queued burn
    # the member is frozen before the burn is sent: it fails, and everything is given back
    ledger.freeze_member(sender=a.state.sender("operator"), deployment=dep, member=carol.address)
    try:
        a.go()
        op = a.client.get(
            f"/operations/{r.json()['operation']['id']}", headers={**h, "Prefer": "wait=30"}
        ).json()
        assert op["state"] == "failed" and op["error_code"] == "account_frozen", op
        red = perks.get_redemption(engine=a.state.engine, redemption_id=r.json()["id"])
        assert red["status"] == "failed" and "frozen" in (red["error"] or ""), red
    finally:
        ledger.unfreeze_member(
            sender=a.state.sender("operator"), deployment=dep, member=carol.address
        )
    got = a.client.get(f"/perks/{perk['id']}", headers=a.brand).json()
    assert got["redeemed_count"] == 0
    assert ledger.balance_of(w3=w3, program=acme, member=carol.address) == 20
    # the same key with the same signed request now burns (a failed attempt may be retried)
    r = a.client.post(
        f"/perks/{perk['id']}/redeem", json=body, headers={**h, **key, "Prefer": "wait=30"}
    )
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    assert ledger.balance_of(w3=w3, program=acme, member=carol.address) == 13
    assert not {"queued", "sent"} & set(a.counts())
