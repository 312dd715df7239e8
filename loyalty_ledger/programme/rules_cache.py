"""A brand's earning rules kept in memory per process, checked current on every use by one
cheap read: the `rules` row of `change_counter`, which database triggers bump in the very
transaction that changes a rule version, a campaign's window, a tier rule or an earn rule
(migration 0022), whichever process or tool wrote it.

So a rule changed through one API process is evaluated by every other process from its next
request on; what a campaign has spent and a member's per-period uses are never cached (the
claim's SQL gate reserves them).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection, Engine, text

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme.accept import StaleRules
from loyalty_ledger.programme.rate import Rule, ensure_defaults, get_rule_in
from loyalty_ledger.programme.rules import model as rule_model
from loyalty_ledger.programme.rules.live import Plan
from loyalty_ledger.programme.rules.store import T_RULE, active_rules
from loyalty_ledger.store.engine import engine_key
from loyalty_ledger.store.offchain import table
from loyalty_ledger.store.rules_tables import TierRule

T = TypeVar("T")
VERSION = text("SELECT n FROM change_counter WHERE name = 'rules'")
T_TIER_RULE = table(TierRule)


@dataclass(frozen=True)
class Snapshot:
    """What earning evaluates for one brand, as of `version` of the rules."""

    version: int
    rule: Rule  # the earn rule: currency, base rate, action bonuses
    rules: tuple[rule_model.Rule, ...]  # current, active versions with their campaigns' windows
    triggers: frozenset[str]  # every trigger a rule of the brand ever named
    tiers: bool  # whether the brand has a tier rule


_CACHE: dict[tuple[str, str], Snapshot] = {}
_READ_AT: dict[tuple[str, str], float] = {}  # when the version was last read (monotonic)
_LOCK = threading.Lock()


def version(conn: Connection) -> int:
    """The rules version (-1 on a database without the counter row yet)."""
    n = conn.execute(VERSION).scalar()
    return -1 if n is None else int(n)


def _load(conn: Connection, brand_id: str, at: int) -> Snapshot:
    trig = conn.execute(
        T_RULE.select().with_only_columns(T_RULE.c.trigger).where(T_RULE.c.brand_id == brand_id)
    )
    tiers = conn.execute(
        T_TIER_RULE.select().with_only_columns(T_TIER_RULE.c.brand_id)
        .where(T_TIER_RULE.c.brand_id == brand_id)
    ).first()  # fmt: skip
    return Snapshot(
        version=at,
        rule=get_rule_in(conn, brand_id),
        rules=tuple(active_rules(conn, brand_id)),
        triggers=frozenset(trig.scalars()),
        tiers=tiers is not None,
    )


def snapshot(engine: Engine, brand_id: str) -> Snapshot:
    """The brand's rules as they are now: from memory when the version has not moved."""
    key = (engine_key(engine), brand_id)
    with engine.connect() as conn:
        read_at, at = time.monotonic(), version(conn)
        hit = _CACHE.get(key)
        if hit is not None and hit.version == at and at >= 0:
            _READ_AT[key] = read_at
            return hit
        snap = _load(conn, brand_id, at)  # read after the version: at least that new
    with _LOCK:
        old = _CACHE.get(key)
        if old is None or old.version <= snap.version:
            _CACHE[key] = snap
            _READ_AT[key] = read_at
    return snap


def recent(engine: Engine, brand_id: str, max_age: float) -> Snapshot:
    """The brand's rules as this process last read them when that read (of the rules version)
    is at most `max_age` seconds old, else as they are now."""
    key = (engine_key(engine), brand_id)
    hit, at = _CACHE.get(key), _READ_AT.get(key, -math.inf)
    if hit is not None and time.monotonic() - at <= max_age:
        return hit
    return snapshot(engine, brand_id)


def last(engine: Engine, brand_id: str) -> Snapshot | None:
    """The snapshot this process read last for the brand (no database read)."""
    return _CACHE.get((engine_key(engine), brand_id))


def forget() -> None:
    """Drop every snapshot (tests)."""
    with _LOCK:
        _CACHE.clear()
        _READ_AT.clear()


def priced(engine: Engine, program: Program, attempt: Callable[[Plan, Snapshot, bool], T]) -> T:
    """Run `attempt(plan, snapshot, last)` with the brand's rules: first as this process last
    read them (the claim checks them current in its transaction), again with them read afresh
    when they had changed (StaleRules) or the cached ones refused the request; the third time
    (`last`) the claim reads the rules in its own transaction. The default rules are seeded on
    first use."""
    brand_id = program.brand_id
    ensure_defaults(engine=engine, brand_id=brand_id)
    snap, checked = last(engine, brand_id), False
    for tries in range(3):
        if snap is None or tries:
            snap, checked = snapshot(engine, brand_id), True
        plan = Plan(brand_id, program.pass_, snap.rule.amount_per_point)
        try:
            return attempt(plan, snap, tries == 2)
        except StaleRules:
            continue
        except InvalidInput:
            if checked:
                raise
    raise AssertionError("unreachable: the last try reads the rules in its own transaction")
