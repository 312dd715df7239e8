"""Profiles: validation, consent (what the brand sees), unsubscribe, and erasure that leaves no
personal value anywhere in the database while the ledger rows stay (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, MetaData, func, insert, select

from loyalty_ledger.crm import profiles
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.store.crm_tables import T_ERASURE, T_NOTIFICATION
from loyalty_ledger.store.offchain import EarnRecord, table

ANN = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20
PERSONAL = {
    "name": "Annabel Quixotic-Zed",
    "email": "annabel.quixotic@example.org",
    "phone": "+84 90 555 0199",
    "birthday": "1991-04-17",
    "region": "Hue-Zentrum",
    "channel": "email",
}


def test_validation_rejects_bad_fields(db: Engine) -> None:
    for bad in (
        {"email": "not-an-email"},
        {"phone": "0905550199"},
        {"birthday": "2999-01-01"},
        {"birthday": "17/04/1991"},
        {"channel": "pigeon"},
        {"name": "x" * 121},
        {"name": "bell\x07"},
        {"ssn": "123"},
    ):
        with pytest.raises(InvalidInput):
            profiles.save_profile(engine=db, brand_id="acme", member=ANN, fields=bad)
    assert profiles.get_profile(engine=db, brand_id="acme", member=ANN) is None


def test_consent_decides_what_the_brand_sees(db: Engine) -> None:
    p = profiles.save_profile(engine=db, brand_id="acme", member=ANN, fields=PERSONAL)
    assert p["phone"] == "+84905550199" and p["birth_month"] == 4 and p["consent"] is False
    hidden = profiles.brand_view(p)
    assert hidden is not None and "email" not in hidden and hidden["consent"] is False
    assert profiles.find_members(engine=db, brand_id="acme", query=PERSONAL["email"]) == []
    p = profiles.save_profile(
        engine=db, brand_id="acme", member=ANN, fields={}, consent=True, source="wallet", now=1000
    )
    assert (p["consent"], p["consent_at"], p["consent_source"]) == (True, 1000, "wallet")
    seen = profiles.brand_view(p)
    assert seen is not None and seen["email"] == PERSONAL["email"]
    found = profiles.find_members(engine=db, brand_id="acme", query=" +84 90 555 0199 ")
    assert found == [p["member"]]
    assert profiles.find_members(engine=db, brand_id="beta", query=PERSONAL["email"]) == []
    assert profiles.unsubscribe(engine=db, brand_id="acme", member=ANN)
    p2 = profiles.get_profile(engine=db, brand_id="acme", member=ANN)
    assert p2 is not None and p2["consent"] is False and p2["consent_source"] == "unsubscribe"
    assert not profiles.unsubscribe(engine=db, brand_id="acme", member=BOB)


def _every_value(db: Engine) -> list[tuple[str, str, str]]:
    """(table, column, text) of every non-null value of every table in the database."""
    md = MetaData()
    md.reflect(db)
    out = []
    with db.connect() as conn:
        for t in md.sorted_tables:
            for row in conn.execute(select(t)).mappings():
                out += [(t.name, k, str(v)) for k, v in row.items() if v is not None]
    return out


def test_erase_leaves_no_personal_value_anywhere(db: Engine) -> None:
    now = int(time.time())
    for who in (ANN, BOB):
        profiles.save_profile(engine=db, brand_id="acme", member=who, fields=PERSONAL, consent=True)
    ann = profiles.get_profile(engine=db, brand_id="acme", member=ANN)
    assert ann is not None
    with db.begin() as c:  # a notification rendered with her data, and one purchase
        c.execute(
            insert(T_NOTIFICATION).values(
                brand_id="acme",
                member=ann["member"],
                kind="message",
                channel="email",
                dedupe_key="m1",
                recipient=PERSONAL["email"],
                subject=f"Hello {PERSONAL['name']}",
                body=f"Dear {PERSONAL['name']}, born {PERSONAL['birthday']}",
                state="sent",
                next_at=now,
                created_at=now,
            )
        )
        c.execute(
            insert(table(EarnRecord)).values(
                brand_id="acme",
                idem_key="o1",
                member=ann["member"],
                reason="purchase",
                points=5,
                order_id="o1",
                order_amount=50_000,
                currency="VND",
                status="confirmed",
                created_at=now,
                ordered_at=now,
            )
        )
    # The channel ("email") is a word the schema uses too; every other field is a unique value.
    values = {v for k, v in PERSONAL.items() if k != "channel"} | {ann["phone"]}
    assert any(v in text for _, _, text in _every_value(db) for v in values)
    done = profiles.erase(engine=db, brand_id="acme", member=ANN, requested_by="member")
    assert done == {"profiles": 1, "notifications": 1}
    profiles.erase(engine=db, brand_id="acme", member=BOB, requested_by="brand")
    leaks = [(t, c, s) for t, c, s in _every_value(db) for v in values if v in s]
    assert leaks == []
    with db.connect() as c:
        assert c.execute(select(func.count()).select_from(table(EarnRecord))).scalar_one() == 1
        assert c.execute(select(func.count()).select_from(T_NOTIFICATION)).scalar_one() == 1
        who = c.execute(select(T_ERASURE.c.member, T_ERASURE.c.requested_by)).all()
    assert sorted(r[1] for r in who) == ["brand", "member"]
    assert profiles.get_profile(engine=db, brand_id="acme", member=ANN) is None
    with pytest.raises(InvalidInput):
        profiles.erase(engine=db, brand_id="acme", member=ANN, requested_by="someone")
