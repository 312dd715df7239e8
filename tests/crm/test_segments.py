"""Segments on SQL (SQLite and PostgreSQL): every field filters the members it should, counts
are live, bad rules are refused by name; saved segments round-trip."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from eth_utils import to_checksum_address
from sqlalchemy import Engine, insert

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.crm import profiles, segments
from loyalty_ledger.crm.facts import member_facts
from loyalty_ledger.errors import InvalidInput, NotFound
from loyalty_ledger.store import models as m
from loyalty_ledger.store.offchain import EarnRecord, table

NOW = 1_780_000_000
DAY = 86_400
PROGRAM = Program("acme", "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20, 0)
A, B, C, D = ("0x" + h * 20 for h in ("a1", "b2", "c3", "d4"))
MONTH = datetime.fromtimestamp(NOW, UTC).month


def seed(db: Engine) -> None:
    """A: Gold, 500 pts (200 expiring in 10 days), buys weekly, consents, birthday this month.
    B: no pass, 50 pts, one purchase 200 days ago. C: Silver, 0 pts, never bought. D: profile."""
    bal, pas, lot = (t.__table__ for t in (m.Balance, m.Pass, m.PointLot))  # type: ignore[attr-defined]
    with db.begin() as c:
        c.execute(
            insert(bal),
            [
                {"token": PROGRAM.points, "holder": A, "amount": 500},
                {"token": PROGRAM.points, "holder": B, "amount": 50},
            ],
        )
        c.execute(
            insert(pas),
            [
                {"contract": PROGRAM.pass_, "token_id": 1, "owner": A, "tier": 2},
                {"contract": PROGRAM.pass_, "token_id": 2, "owner": C, "tier": 1},
            ],
        )
        c.execute(
            insert(lot),
            [
                {
                    "token": PROGRAM.points,
                    "holder": A,
                    "expiry_epoch": 5,
                    "expires_at": NOW + 10 * DAY,
                    "amount": 200,
                },
                {
                    "token": PROGRAM.points,
                    "holder": A,
                    "expiry_epoch": 9,
                    "expires_at": NOW + 90 * DAY,
                    "amount": 300,
                },
                {
                    "token": PROGRAM.points,
                    "holder": B,
                    "expiry_epoch": 4,
                    "expires_at": NOW - DAY,
                    "amount": 50,
                },
            ],
        )
        rows: list[dict[str, Any]] = []
        for who, times in ((A, [NOW - k * 7 * DAY for k in range(1, 9)]), (B, [NOW - 200 * DAY])):
            for i, t in enumerate(times):
                rows.append(
                    {
                        "brand_id": "acme",
                        "idem_key": f"{who}-{i}",
                        "member": to_checksum_address(who),
                        "reason": "purchase",
                        "points": 5,
                        "order_id": f"{who}-{i}",
                        "order_amount": 100_000,
                        "currency": "VND",
                        "status": "confirmed",
                        "created_at": t,
                        "ordered_at": t,
                    }
                )
        c.execute(insert(table(EarnRecord)), rows)
    profiles.save_profile(
        engine=db,
        brand_id="acme",
        member=A,
        consent=True,
        fields={
            "name": "Ann",
            "email": "ann@example.org",
            "birthday": f"1990-{MONTH:02d}-03",
            "region": "Hanoi",
            "channel": "email",
        },
    )
    profiles.save_profile(engine=db, brand_id="acme", member=D, fields={"region": "Hue"})


def who(db: Engine, *conds: dict[str, Any], match: str = "all") -> set[str]:
    rules = {"match": match, "conditions": list(conds)}
    return {
        f.member.lower()
        for f in segments.evaluate(engine=db, program=PROGRAM, rules=rules, now=NOW)
    }


def test_every_field_filters(db: Engine) -> None:
    seed(db)
    assert who(db) == {A, B, C, D}
    assert who(db, {"field": "tier", "op": ">=", "value": 2}) == {A}
    assert who(db, {"field": "tier", "op": ">=", "value": 1}) == {A, C}
    assert who(db, {"field": "balance", "op": ">", "value": 10}) == {A, B}
    assert who(db, {"field": "expiring_points", "op": ">=", "value": 1, "days": 30}) == {A}
    assert who(db, {"field": "expiring_points", "op": ">=", "value": 1, "days": 5}) == set()
    assert who(db, {"field": "days_since_purchase", "op": ">", "value": 90}) == {B}
    assert who(db, {"field": "rfm_r", "op": ">", "value": who_r_b(db)}) == {A}
    assert who(db, {"field": "churn_risk", "op": ">=", "value": 50}) == {B}
    assert who(db, {"field": "churn_risk", "op": "<", "value": 50}) == {A}
    assert who(db, {"field": "birthday_this_month", "op": "==", "value": True}) == {A}
    assert who(db, {"field": "consent", "op": "==", "value": True}) == {A}
    assert who(db, {"field": "channel", "op": "==", "value": "email"}) == {A}
    assert who(db, {"field": "region", "op": "in", "value": ["Hue", "Hanoi"]}) == {A, D}
    both = (
        {"field": "region", "op": "==", "value": "Hue"},
        {"field": "tier", "op": "==", "value": 1},
    )
    assert who(db, *both, match="any") == {C, D}
    assert who(db, *both) == set()
    # Live: a new purchase for B changes the count at once.
    with db.begin() as c:
        c.execute(
            insert(table(EarnRecord)).values(
                brand_id="acme",
                idem_key="new",
                member=B,
                reason="purchase",
                points=1,
                order_amount=1000,
                currency="VND",
                status="confirmed",
                created_at=NOW - DAY,
                ordered_at=NOW - DAY,
            )
        )
    assert who(db, {"field": "days_since_purchase", "op": ">", "value": 90}) == set()


def who_r_b(db: Engine) -> int:
    facts = member_facts(engine=db, program=PROGRAM, now=NOW)
    rfm = facts[B].rfm
    assert rfm is not None and facts[A].rfm is not None and facts[C].rfm is None
    return rfm[0]


@pytest.mark.parametrize(
    "rules",
    [
        [],
        {"match": "most"},
        {"conditions": [{"field": "shoe_size", "op": "==", "value": 42}]},
        {"conditions": [{"field": "tier", "op": "~", "value": 1}]},
        {"conditions": [{"field": "tier", "op": "==", "value": "gold"}]},
        {"conditions": [{"field": "balance", "op": ">", "value": True}]},
        {"conditions": [{"field": "expiring_points", "op": ">", "value": 1}]},
        {"conditions": [{"field": "consent", "op": ">", "value": True}]},
        {"conditions": [{"field": "region", "op": "in", "value": []}]},
        {"conditions": [{"field": "tier", "op": ">", "value": 1}] * 21},
    ],
)
def test_bad_rules_are_refused(rules: Any) -> None:
    with pytest.raises(InvalidInput):
        segments.validate_rules(rules)


def test_saved_segments(db: Engine) -> None:
    rules = {"conditions": [{"field": "tier", "op": ">=", "value": 1}]}
    s = segments.save_segment(engine=db, brand_id="acme", name="Silver+", rules=rules)
    assert s["rules"] == {"match": "all", "conditions": [{"field": "tier", "op": ">=", "value": 1}]}
    with pytest.raises(InvalidInput, match="already has"):
        segments.save_segment(engine=db, brand_id="acme", name="Silver+", rules=rules)
    assert [x["name"] for x in segments.list_segments(engine=db, brand_id="acme")] == ["Silver+"]
    assert segments.list_segments(engine=db, brand_id="beta") == []
    with pytest.raises(NotFound):
        segments.get_segment(engine=db, brand_id="beta", segment_id=s["id"])
    segments.delete_segment(engine=db, brand_id="acme", segment_id=s["id"])
    with pytest.raises(NotFound):
        segments.delete_segment(engine=db, brand_id="acme", segment_id=s["id"])
