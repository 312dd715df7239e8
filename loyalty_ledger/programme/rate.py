"""A brand's earn rule: the currency it earns on, its base rate (amount per point) and its
action bonuses; kept in step with the default rules `base-rate` and `bonus-<action>`."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme.rules import model as rule_model
from loyalty_ledger.programme.rules import store as rule_store
from loyalty_ledger.programme.rules.live import Plan
from loyalty_ledger.store.engine import engine_key
from loyalty_ledger.store.offchain import EarnRule, table
from loyalty_ledger.store.writer_lock import sqlite_writer

ACTIONS = ("signup", "review", "referral", "survey", "visit")  # always accepted (0 without a rule)
DEFAULT_BONUSES = {"signup": 100, "review": 20, "referral": 50, "survey": 10, "visit": 5}
DEFAULT_CURRENCY = "VND"
DEFAULT_AMOUNT_PER_POINT = 10_000  # 1 point per 10,000 VND

T_RULE = table(EarnRule)


@dataclass(frozen=True)
class Rule:
    brand_id: str
    currency: str
    amount_per_point: int
    bonuses: dict[str, int]

    def purchase_points(self, amount: int, currency: str) -> int:
        """Whole points for an order: floor(amount / amount_per_point); integers only."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise InvalidInput("the order amount must be a whole number >= 0")
        if currency.upper() != self.currency:
            raise InvalidInput(f"brand {self.brand_id} earns on {self.currency}, not {currency}")
        return amount // self.amount_per_point

    def action_points(self, action: str) -> int:
        if action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")
        return int(self.bonuses.get(action, 0))


def get_rule(*, engine: Engine, brand_id: str) -> Rule:
    with engine.connect() as conn:
        return get_rule_in(conn, brand_id)


def get_rule_in(conn: Connection, brand_id: str) -> Rule:
    """The brand's earn rule read on an open connection (the defaults when never set)."""
    row = conn.execute(select(T_RULE).where(T_RULE.c.brand_id == brand_id)).mappings().first()
    if row is None:
        return Rule(brand_id, DEFAULT_CURRENCY, DEFAULT_AMOUNT_PER_POINT, dict(DEFAULT_BONUSES))
    return Rule(brand_id, row["currency"], int(row["amount_per_point"]), dict(row["bonuses"] or {}))


def set_rule(
    *,
    engine: Engine,
    brand_id: str,
    currency: str,
    amount_per_point: int,
    bonuses: dict[str, int],
) -> Rule:
    if amount_per_point < 1:
        raise InvalidInput("amount_per_point must be at least 1")
    if any(
        not rule_model.NAME.match(a) or isinstance(v, bool) or not isinstance(v, int) or v < 0
        for a, v in bonuses.items()
    ):
        raise InvalidInput("bonuses are whole numbers >= 0 per action name (e.g. review)")
    values = {
        "currency": currency.upper(),
        "amount_per_point": amount_per_point,
        "bonuses": bonuses,
        "updated_at": int(time.time()),
    }
    with sqlite_writer(engine), engine.begin() as conn:
        res = conn.execute(update(T_RULE).where(T_RULE.c.brand_id == brand_id).values(**values))
        if res.rowcount == 0:
            conn.execute(insert(T_RULE).values(brand_id=brand_id, **values))
        rule_store.sync_defaults(conn, brand_id, amount_per_point, bonuses)
    _seeded.add((engine_key(engine), brand_id))
    return get_rule(engine=engine, brand_id=brand_id)


_seeded: set[tuple[str, str]] = set()


def ensure_defaults(*, engine: Engine, brand_id: str) -> None:
    """A brand whose rules lack `base-rate` gets its earn rule (rate and bonuses; the defaults
    when never set) as version 1 of `base-rate` and `bonus-<action>`."""
    key = (engine_key(engine), brand_id)
    if key in _seeded:
        return
    rule = get_rule(engine=engine, brand_id=brand_id)
    try:
        with sqlite_writer(engine), engine.begin() as conn:  # reads, then writes
            if not rule_store.has_rule(conn, brand_id, rule_store.BASE_RULE):
                rule_store.sync_defaults(conn, brand_id, rule.amount_per_point, rule.bonuses)
    except IntegrityError:  # another request seeded them at the same moment
        pass
    _seeded.add(key)


def plan_for(*, engine: Engine, program: Program, rule: Rule) -> Plan:
    """How the brand's earnings are evaluated (its default rules seeded on first use)."""
    ensure_defaults(engine=engine, brand_id=program.brand_id)
    return Plan(program.brand_id, program.pass_, rule.amount_per_point)
