"""The claim group's statements on the database driver (`programme.claim_sql`) write the rows
the one-claim path (`claims.claim`, SQLAlchemy statements) writes, on SQLite and PostgreSQL;
and a claim that waited too long for its group is withdrawn, never written after its caller
was told the database is busy."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from loyalty_ledger.ledger import outbox
from loyalty_ledger.programme import claim_group
from loyalty_ledger.programme.claims import claim
from loyalty_ledger.programme.rules import campaigns, store
from loyalty_ledger.programme.rules.store import T_LINE
from loyalty_ledger.store.offchain import EarnRecord, OutboxIntent, table

from .conftest import at, member, order, plan, setup_brand
from .test_claim_group import _grouped

T_EARN, T_INTENT = table(EarnRecord), table(OutboxIntent)
START, END = int(at(1, 0).timestamp()), int(at(30, 0).timestamp())


def _issuer(brand: str) -> outbox.Issuer:
    sender = SimpleNamespace(address="0x" + "5" * 40, _check_target=lambda _to: None)
    program = SimpleNamespace(brand_id=brand, points="0x" + "6" * 40)
    return outbox.Issuer(sender, program)  # type: ignore[arg-type]


def _rows(engine: Engine, brand: str) -> list[tuple[Any, ...]]:
    """Each record of `brand` with its intent and lines, ids and times left out."""
    with engine.connect() as c:
        recs = c.execute(select(T_EARN).where(T_EARN.c.brand_id == brand)).mappings().all()
        out = []
        for r in recs:
            intent = c.execute(
                select(T_INTENT.c.idem_key, T_INTENT.c.kind, T_INTENT.c.to_address,
                       T_INTENT.c.member, T_INTENT.c.amount, T_INTENT.c.reason, T_INTENT.c.ref,
                       T_INTENT.c.state, T_INTENT.c.value, T_INTENT.c.attempts, T_INTENT.c.data)
                .where(T_INTENT.c.id == r["intent_id"])
            ).one_or_none()  # fmt: skip
            lines = c.execute(
                select(T_LINE.c.rule_id, T_LINE.c.version, T_LINE.c.campaign_id, T_LINE.c.points,
                       T_LINE.c.perk_id, T_LINE.c.why, T_LINE.c.usage_member,
                       T_LINE.c.usage_period)
                .where(T_LINE.c.earn_id == r["id"]).order_by(T_LINE.c.rule_id)
            ).all()  # fmt: skip
            skip = ("id", "intent_id", "created_at", "brand_id")
            fields = tuple(sorted((k, v) for k, v in r.items() if k not in skip))
            key = None if intent is None else (intent[0].replace(f":{brand}:", ":"), *intent[1:])
            out.append((fields, key, tuple(tuple(x) for x in lines)))
    return sorted(out, key=str)


def test_grouped_rows_are_the_rows_claimed_alone(engine: Engine) -> None:
    for brand in ("b", "c"):
        setup_brand(engine, brand)
        campaigns.put_campaign(engine=engine, brand_id=brand, campaign_id="camp",
                               starts_at=START, ends_at=END, budget=30)  # fmt: skip
        spec = {"trigger": "purchase", "effect": {"type": "fixed", "points": 7},
                "campaign_id": "camp", "limit": {"count": 2, "period": "day"}}  # fmt: skip
        store.put_rule(engine=engine, brand_id=brand, rule_id="camp7", spec=spec)
    buyers = [member() for _ in range(4)]
    values = [order(buyers[i % 4], f"o{i}", 1_000 * (i % 3), at(2)) for i in range(12)]
    for v in values:  # one at a time: brand c's rows by `claims.claim` alone
        assert claim(engine, {"brand_id": "c", **v}, _issuer("c"), plan("c")) is not None
    got = _grouped(engine, values, threads=1, queued=True)  # brand b's: the group path
    assert all(r is not None for r in got)
    rows_b, rows_c = _rows(engine, "b"), _rows(engine, "c")
    assert len(rows_b) == 12 and 0 < sum(x[1] is not None for x in rows_b) < 12  # some paid 0
    assert rows_b == rows_c


def test_a_claim_given_up_on_is_not_written_later(engine: Engine, monkeypatch: Any) -> None:
    setup_brand(engine)
    monkeypatch.setattr(claim_group, "WAIT_SECONDS", 0.5)
    held, release = threading.Event(), threading.Event()
    commit = claim_group._commit

    def slow(eng: Engine, batch: Any) -> None:  # the first group holds its leader's place
        if not held.is_set():
            held.set()
            release.wait(10)
        commit(eng, batch)

    monkeypatch.setattr(claim_group, "_commit", slow)
    if engine.dialect.name == "postgresql":  # one leader's place, as on SQLite
        monkeypatch.setattr(claim_group._group(engine), "leaders", 1)
    first = threading.Thread(
        target=_grouped, args=(engine, [order(member(), "x", 5_000, at(2))], 1)
    )
    first.start()
    assert held.wait(10)
    t0 = time.monotonic()
    with pytest.raises(OperationalError):  # no leader's place free in time: busy (503)
        _grouped(engine, [order(member(), "given-up", 5_000, at(2))], 1)
    assert time.monotonic() - t0 < 5
    release.set()
    first.join(10)
    _grouped(engine, [order(member(), "later", 5_000, at(2))], 1)  # the next leader's group
    with engine.connect() as c:
        written = set(c.execute(select(T_EARN.c.order_id)).scalars())
    assert written == {"x", "later"}


def test_a_batchs_claims_are_committed_in_groups(engine: Engine, monkeypatch: Any) -> None:
    setup_brand(engine)
    first = {"trigger": "purchase", "conditions": {"first_order": True},
             "effect": {"type": "fixed", "points": 50}}  # fmt: skip
    store.put_rule(engine=engine, brand_id="b", rule_id="welcome", spec=first)
    sizes: list[int] = []
    together = claim_group._together

    def counted(conn: Any, batch: Any, now: int) -> Any:
        sizes.append(len(batch))
        return together(conn, batch, now)

    monkeypatch.setattr(claim_group, "_together", counted)
    buyers = [member() for _ in range(3)]
    seen = order(buyers[0], "o0", 5_000, at(2))
    values = [{"brand_id": "b", **order(buyers[i % 3], f"o{i}", 5_000, at(2))} for i in range(70)]
    got = claim_group.claim_many(engine, values, _issuer("b"), plan())
    assert sizes == [64, 6] and all(e is None and r is not None for r, e in got)
    assert sorted(r[0][1]["points"] for r, _ in got if r) == [5] * 67 + [55] * 3  # 1st each
    again = claim_group.claim_many(engine, [{"brand_id": "b", **seen}], _issuer("b"), plan())
    assert again == [(None, None)]  # claimed before
