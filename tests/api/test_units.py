"""Pure rules (perk judgement, earn arithmetic), perk CRUD checks, and the key CLI."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import api_app
from loyalty_ledger import auth
from loyalty_ledger.chain.deploy import Deployment, Program
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme.earn import Rule
from loyalty_ledger.programme.perks import Holding, judge
from loyalty_ledger.store import make_engine, migrate

from .conftest import Env

NOW = 1_800_000_000
PERK = {
    "active": True,
    "valid_from": None,
    "valid_until": None,
    "total_stock": None,
    "redeemed_count": 0,
    "per_member_limit": None,
    "min_points": 0,
    "point_cost": 0,
    "active_pass_required": False,
    "min_tier": None,
    "partner_brand_id": None,
}
MEMBER = Holding(registered=True, balance=100, pass_tier=1)


def codes(perk: dict, h: Holding) -> set[str]:
    return {r.code for r in judge({**PERK, **perk}, h, now=NOW)}


@pytest.mark.parametrize(
    ("perk", "holding", "expected"),
    [
        ({}, MEMBER, set()),
        ({"active": False}, MEMBER, {"perk_inactive"}),
        ({"valid_from": NOW + 1}, MEMBER, {"not_started"}),
        ({"valid_until": NOW}, MEMBER, {"ended"}),
        ({"total_stock": 3, "redeemed_count": 3}, MEMBER, {"out_of_stock"}),
        ({"per_member_limit": 1}, Holding(registered=True, used=1), {"limit_reached"}),
        ({}, Holding(), {"not_a_member"}),
        ({}, Holding(registered=True, frozen=True), {"account_frozen"}),
        ({"min_points": 50, "point_cost": 200}, MEMBER, {"insufficient_points"}),
        ({"active_pass_required": True}, Holding(registered=True), {"no_pass"}),
        (
            {"active_pass_required": True},
            Holding(registered=True, pass_tier=0, pass_expires_at=NOW - 1),
            {"pass_expired"},
        ),
        ({"min_tier": 2}, MEMBER, {"tier_too_low"}),
        ({"partner_brand_id": "beta"}, MEMBER, {"no_partner_pass"}),
        ({"partner_brand_id": "beta"}, Holding(registered=True, partner_pass=True), set()),
        (
            {"min_tier": 1, "min_points": 500, "active": False},
            Holding(),
            {"perk_inactive", "not_a_member", "insufficient_points", "no_pass"},
        ),
    ],
)
def test_judge_gives_every_reason(perk: dict, holding: Holding, expected: set[str]) -> None:
    assert codes(perk, holding) == expected


def test_earn_rule_is_integer_floor() -> None:
    rule = Rule("acme", "VND", 10_000, {"review": 20})
    assert rule.purchase_points(255_000, "vnd") == 25
    assert rule.purchase_points(9_999, "VND") == 0
    assert rule.purchase_points(10**30, "VND") == 10**26  # exact, no float anywhere
    for bad in (2.5, -1, True, "100"):
        with pytest.raises(InvalidInput):
            rule.purchase_points(bad, "VND")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        rule.purchase_points(100, "USD")
    assert rule.action_points("review") == 20 and rule.action_points("visit") == 0


def test_perk_crud_checks(env: Env) -> None:
    pm = env.h("acme:perk_manager")
    name = f"crud-{uuid.uuid4().hex[:6]}"
    p = env.client.post("/brands/acme/perks", json={"name": name, "point_cost": 5}, headers=pm)
    assert p.status_code == 201
    dup = env.client.post("/brands/acme/perks", json={"name": name}, headers=pm)
    assert dup.status_code == 409 and dup.json()["error"] == "perk_exists"
    bad = env.client.post(
        "/brands/acme/perks", json={"name": "w", "valid_from": 10, "valid_until": 5}, headers=pm
    )
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"
    nope = env.client.post(
        "/brands/acme/perks", json={"name": "w", "partner_brand_id": "zz"}, headers=pm
    )
    assert nope.status_code == 404 and nope.json()["error"] == "unknown_program"
    pid = p.json()["id"]
    up = env.client.patch(f"/perks/{pid}", json={"point_cost": 9, "total_stock": 2}, headers=pm)
    assert up.status_code == 200 and up.json()["point_cost"] == 9
    off = env.client.delete(f"/perks/{pid}", headers=pm)
    assert off.status_code == 200 and off.json()["active"] is False
    listed = env.client.get(
        "/brands/acme/perks", headers=env.sign_in(env.new_member(register=False))
    ).json()
    assert pid not in {x["id"] for x in listed}  # customers see active perks only
    rule = env.client.get("/brands/acme/earn-rule", headers=env.h("acme:viewer")).json()
    assert rule["currency"] == "VND" and rule["amount_per_point"] == 10_000


def test_key_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    # a brand key needs the brand in the deployment file (addresses do not matter here)
    dep = Deployment(31337, "0x" + "11" * 20, "0x" + "22" * 20, 1)
    dep.programs["acme"] = Program("acme", "0x" + "33" * 20, "0x" + "44" * 20, "0x" + "55" * 20, 1)
    dep.save(tmp_path / "deployment.json")
    runner = CliRunner(env={"LOYALTY_DEPLOYMENT_FILE": str(tmp_path / "deployment.json")})
    r = runner.invoke(
        api_app,
        [
            "key",
            "create",
            "brand",
            "--brand",
            "acme",
            "--role",
            "issuer",
            "--role",
            "viewer",
            "--label",
            "till 1",
            "--database-url",
            url,
        ],
    )
    assert r.exit_code == 0, r.output
    key = next(line.split()[-1] for line in r.output.splitlines() if line.startswith("key:"))
    key_id = key.split("_")[1]
    engine = make_engine(url)
    migrate(engine)
    p = auth.authenticate_key(engine=engine, key=key)
    assert p.kind == "brand" and p.brand_id == "acme" and p.roles == {"issuer", "viewer"}
    listed = runner.invoke(api_app, ["key", "list", "--database-url", url])
    assert key_id in listed.output and key.split("_", 2)[2] not in listed.output
    assert runner.invoke(api_app, ["key", "revoke", key_id, "--database-url", url]).exit_code == 0
    with pytest.raises(auth.AuthenticationFailed):
        auth.authenticate_key(engine=engine, key=key)
    assert runner.invoke(api_app, ["key", "revoke", key_id, "--database-url", url]).exit_code == 1
    bad = runner.invoke(
        api_app,
        ["key", "create", "brand", "--brand", "acme", "--role", "god", "--database-url", url],
    )
    assert bad.exit_code == 2
