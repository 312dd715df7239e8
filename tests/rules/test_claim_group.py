"""Group commit of earn claims (`programme.claim_group`) on SQLite and PostgreSQL: concurrent
claims committed together earn exactly what they would alone (rules, lines, a campaign budget
never overspent, a per-member limit kept), a key claimed twice in one group is one record and
the other a duplicate, and a referrer's reward (a claim writing two records) still pays."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, func, select

from loyalty_ledger.ledger import outbox
from loyalty_ledger.programme import claim_group
from loyalty_ledger.programme.rules import campaigns, referrals, store
from loyalty_ledger.programme.rules.store import T_CAMP, T_LINE
from loyalty_ledger.store.offchain import EarnRecord, OutboxIntent, table

from .conftest import at, member, order, plan, setup_brand

T_EARN, T_INTENT = table(EarnRecord), table(OutboxIntent)
SIGNER, POINTS = "0x" + "5" * 40, "0x" + "6" * 40
START, END = int(at(1, 0).timestamp()), int(at(30, 0).timestamp())


def _issuer() -> outbox.Issuer:
    """An issuer of brand b's points that only queues (no chain needed to queue)."""
    sender = SimpleNamespace(address=SIGNER, _check_target=lambda _to: None)
    return outbox.Issuer(sender, SimpleNamespace(brand_id="b", points=POINTS))  # type: ignore[arg-type]


def _grouped(
    engine: Engine, values: list[dict[str, Any]], threads: int = 16, queued: bool = False
) -> list[Any]:
    """Claims from `threads` threads released together, so they meet in groups."""
    gate = threading.Barrier(threads)

    def one(v: dict[str, Any]) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):  # a last, smaller round
            gate.wait(timeout=10)
        queue = _issuer() if queued else None
        return claim_group.claim_grouped(engine, {"brand_id": "b", **v}, queue, plan())

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, values))


def test_grouped_claims_keep_budget_limits_and_lines(engine: Engine, monkeypatch: Any) -> None:
    sizes: list[int] = []  # of the groups written together (not rerun claim by claim)
    together = claim_group._together

    def counted(conn: Any, batch: Any, now: int) -> Any:
        out = together(conn, batch, now)
        sizes.append(len(batch))
        return out

    monkeypatch.setattr(claim_group, "_together", counted)
    setup_brand(engine)
    campaigns.put_campaign(
        engine=engine, brand_id="b", campaign_id="c", starts_at=START, ends_at=END, budget=100
    )
    spec = {"trigger": "purchase", "effect": {"type": "fixed", "points": 7}, "campaign_id": "c"}
    store.put_rule(engine=engine, brand_id="b", rule_id="camp7", spec=spec)
    once = {"trigger": "purchase", "effect": {"type": "fixed", "points": 1},
            "limit": {"count": 1, "period": "day"}}  # fmt: skip
    store.put_rule(engine=engine, brand_id="b", rule_id="daily1", spec=once)
    buyers = [member() for _ in range(16)]
    orders = [order(buyers[i % 16], f"o{i}", 5_000, at(2)) for i in range(48)]
    results = _grouped(engine, orders, queued=True)
    assert max(sizes) > 1 and sum(sizes) > 24  # most claims were committed in groups
    assert all(r is not None and len(r) == 1 for r in results)
    paid = sorted(r[0][1]["points"] for r in results)
    # base 5 each; +7 for 14 of them (14 x 7 = 98 of 100); +1 once per member and day
    assert sum(paid) == 48 * 5 + 98 + 16
    with engine.connect() as c:
        spent = c.execute(select(T_CAMP.c.spent).where(T_CAMP.c.campaign_id == "c")).scalar()
        lines = dict(
            c.execute(
                select(T_LINE.c.rule_id, func.sum(T_LINE.c.points)).group_by(T_LINE.c.rule_id)
            ).all()
        )
        records = c.execute(
            select(T_EARN.c.order_id, T_EARN.c.member, T_EARN.c.points, T_INTENT.c.idem_key,
                   T_INTENT.c.member, T_INTENT.c.amount, T_INTENT.c.ref, T_INTENT.c.signer)
            .join(T_INTENT, T_INTENT.c.id == T_EARN.c.intent_id)
        ).all()  # fmt: skip
    assert spent == 98 and lines == {"base-rate": 240, "camp7": 98, "daily1": 16}
    assert sorted(r[2] for r in records) == paid and len(records) == 48  # each with its intent
    for oid, m, pts, key, to, amount, ref, signer in records:
        assert (key, to, amount, ref, signer) == (f"earn:b:order:{oid}", m, pts, oid, SIGNER)


def test_same_key_twice_in_a_group_and_a_referrer(engine: Engine) -> None:
    setup_brand(engine)
    spec = {"trigger": "purchase", "conditions": {"referral_converted": True},
            "effect": {"type": "fixed", "points": 9, "beneficiary": "referrer"}}  # fmt: skip
    store.put_rule(engine=engine, brand_id="b", rule_id="ref9", spec=spec)
    referrer, newbie = member(), member()
    code = referrals.referral_code(engine=engine, brand_id="b", member=referrer)
    referrals.set_profile(engine=engine, brand_id="b", member=newbie, referral=code)
    m = member()
    same = order(m, "dup", 5_000, at(2))
    values = [same, same] + [order(member(), f"x{i}", 5_000, at(2)) for i in range(13)]
    values.append(order(newbie, "first", 5_000, at(2)))
    results = _grouped(engine, values)
    assert sorted(r is None for r in results[:2]) == [False, True]  # one record, one duplicate
    assert all(r is not None for r in results[2:])
    got = results[-1]
    assert [(v["member"], v["points"]) for _, v in got] == [(newbie, 5), (referrer, 9)]
    with engine.connect() as c:
        n = c.execute(select(func.count()).where(T_EARN.c.idem_key == "order:dup")).scalar()
    assert n == 1


def test_a_members_orders_in_one_group_are_counted_in_turn(engine: Engine) -> None:
    setup_brand(engine)
    first = {"trigger": "purchase", "conditions": {"first_order": True},
             "effect": {"type": "fixed", "points": 50}}  # fmt: skip
    store.put_rule(engine=engine, brand_id="b", rule_id="welcome", spec=first)
    second = {"trigger": "purchase", "conditions": {"nth_order": 2},
              "effect": {"type": "fixed", "points": 20}}  # fmt: skip
    store.put_rule(engine=engine, brand_id="b", rule_id="second", spec=second)
    m = member()
    values = [order(m, f"m{i}", 5_000, at(2)) for i in range(4)]
    values += [order(member(), f"n{i}", 5_000, at(2)) for i in range(12)]
    results = _grouped(engine, values)
    mine = sorted(r[0][1]["points"] for r in results[:4])
    assert mine == [5, 5, 5 + 20, 5 + 50]  # one first order, one second, whatever the grouping
    assert sorted(r[0][1]["points"] for r in results[4:]) == [55] * 12
