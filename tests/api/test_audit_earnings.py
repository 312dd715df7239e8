"""`loyalty audit` reconciles each earning's rule lines with what its transaction credited on
chain, on SQLite and PostgreSQL against a real chain: clean earnings agree; a tampered rule line
(or a tampered record) is a finding naming the earning."""

from __future__ import annotations

import uuid

import pytest
from eth_account import Account
from sqlalchemy import text

from loyalty_ledger import auth, ledger
from loyalty_ledger.audit import Network, run_audit
from loyalty_ledger.programme import earn

from .conftest import Env, onboard_brand
from .test_tiers import _drain

pytestmark = pytest.mark.chain


def _audit(env: Env) -> tuple[dict[str, object], list[dict[str, object]]]:
    net = Network.from_deployment(env.settings.rpc_url, str(env.settings.deployment_file))
    assert env.settings.database_url is not None
    rep = run_audit(net, database=env.settings.database_url, check_code=False, check_chain=False)
    found = [f.as_dict() for f in rep.findings if f.check == "earnings"]
    return rep.checks["earnings"], found  # type: ignore[return-value]


def test_audit_reconciles_rule_lines_with_chain(any_env: Env) -> None:
    env, c = any_env, any_env.client
    bid = "au" + uuid.uuid4().hex[:8]
    onboard_brand(env, bid)
    pm = {
        "X-API-Key": auth.create_api_key(
            engine=env.state.engine, kind="brand", brand_id=bid, roles=["programme_manager"]
        )[1]
    }
    rule = {"trigger": "purchase", "effect": {"type": "fixed", "points": 7}}
    assert c.put(f"/brands/{bid}/rules/plus7", json=rule, headers=pm).status_code == 200
    members = [Account.create().address for _ in range(2)]
    ledger.register_members(
        sender=env.state.sender("operator"), deployment=env.deployment, members=members
    )
    ids = []
    for i, m in enumerate(members):
        body = {"member": m, "order_id": f"o{i}", "amount": 30_000 * (i + 1)}
        body |= {"currency": "VND", "items": 1}
        r = c.post(f"/brands/{bid}/earn/purchase", json=body, headers=env.h(f"{bid}:issuer"))
        assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
        ids.append(r.json()["id"])
    # An action with a reference longer than 32 bytes (issued as its keccak), and two earnings
    # queued in the outbox (the submitter may batch them into one issueBatch).
    r = c.post(
        f"/brands/{bid}/earn/action",
        json={"member": members[0], "action": "review", "action_id": "review-" + "x" * 40},
        headers=env.h(f"{bid}:issuer"),
    )
    assert r.status_code == 200 and r.json()["points"] > 0, r.text
    sender, program = env.state.brand_sender(bid), env.deployment.program(bid)
    for i, m in enumerate(members):
        earn.earn_purchase(
            engine=env.state.engine,
            sender=sender,
            program=program,
            member=m,
            order_id=f"q{i}",
            amount=70_000,
            currency="VND",
            items=1,
            queued=True,
        )
    _drain(env, sender)
    env.index()
    info, found = _audit(env)
    assert found == [] and info["checked"] >= 5, (info, found)  # type: ignore[operator]

    with env.state.engine.begin() as conn:  # someone edits a rule line by hand
        conn.execute(
            text(
                "UPDATE earn_line SET points = points + 5 WHERE earn_id = :e AND rule_id = 'plus7'"
            ),
            {"e": ids[0]},
        )
    _, found = _audit(env)
    codes = {(f["code"], f["key"]) for f in found}
    assert ("earn-lines-mismatch", f"earning:{bid}/{ids[0]}") in codes, found
    assert ("earn-record-mismatch", f"earning:{bid}/{ids[0]}") in codes, found
    assert all(f["key"] == f"earning:{bid}/{ids[0]}" for f in found), found
    bad = next(f for f in found if f["code"] == "earn-lines-mismatch")
    assert bad["actual"] == bad["expected"] + 5  # type: ignore[operator]

    with env.state.engine.begin() as conn:  # the line put back, the record edited instead
        conn.execute(
            text(
                "UPDATE earn_line SET points = points - 5 WHERE earn_id = :e AND rule_id = 'plus7'"
            ),
            {"e": ids[0]},
        )
        conn.execute(
            text("UPDATE earn_record SET points = points + 1 WHERE id = :e"), {"e": ids[1]}
        )
    _, found = _audit(env)
    assert [(f["code"], f["key"]) for f in found] == [
        ("earn-record-mismatch", f"earning:{bid}/{ids[1]}")
    ]
    with env.state.engine.begin() as conn:
        conn.execute(
            text("UPDATE earn_record SET points = points - 1 WHERE id = :e"), {"e": ids[1]}
        )
        old = conn.execute(text("SELECT tx_hash FROM earn_record WHERE id = :e"), {"e": ids[1]})
        tx = old.scalar_one()
        conn.execute(  # as if its block was lost (sent without the outbox): a warning
            text("UPDATE earn_record SET tx_hash = :h WHERE id = :e"),
            {"h": "0x" + "ab" * 32, "e": ids[1]},
        )
    _, found = _audit(env)
    assert [(f["code"], f["severity"]) for f in found] == [("earn-tx-missing", "warning")]
    with env.state.engine.begin() as conn:
        conn.execute(
            text("UPDATE earn_record SET tx_hash = :h WHERE id = :e"), {"h": tx, "e": ids[1]}
        )
