"""A brand's rules and campaigns in SQL: every edit adds a version (past earnings keep pointing
at the version that paid them); the brand's earn rule (rate + action bonuses) is kept as its
default rules `base-rate` and `bonus-<action>`."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme.rules.errors import UnknownRule
from loyalty_ledger.store.offchain import table
from loyalty_ledger.store.rules_tables import Campaign, EarnLine, RuleVersion
from loyalty_ledger.store.writer_lock import sqlite_writer

from .model import Rule, parse_rule

T_RULE, T_CAMP, T_LINE = table(RuleVersion), table(Campaign), table(EarnLine)
BASE_RULE = "base-rate"


def _spec(row: Any) -> dict[str, Any]:
    """A stored version as the API shows it."""
    limit = None
    if row["limit_count"] is not None:
        limit = {"count": row["limit_count"], "period": row["limit_period"]}
    keys = ("rule_id", "version", "name", "trigger", "conditions", "effect", "priority")
    out = {k: row[k] for k in keys}
    keys2 = ("stacking", "campaign_id", "active", "created_at")
    return out | {"limit": limit} | {k: row[k] for k in keys2}


def _rule(row: Any, window: tuple[int, int] | None = None) -> Rule:
    return Rule(
        rule_id=row["rule_id"],
        version=int(row["version"]),
        trigger=row["trigger"],
        effect=dict(row["effect"]),
        conditions=dict(row["conditions"] or {}),
        priority=int(row["priority"]),
        stacking=row["stacking"],
        limit_count=row["limit_count"],
        limit_period=row["limit_period"],
        campaign_id=row["campaign_id"],
        window=window,
        name=row["name"],
    )


def _write(conn: Connection, brand_id: str, rule: Rule, active: bool) -> None:
    conn.execute(
        update(T_RULE)
        .where(T_RULE.c.brand_id == brand_id, T_RULE.c.rule_id == rule.rule_id)
        .values(current=False)
    )
    conn.execute(
        insert(T_RULE).values(
            brand_id=brand_id,
            rule_id=rule.rule_id,
            version=rule.version,
            name=rule.name,
            trigger=rule.trigger,
            conditions=rule.conditions,
            effect=rule.effect,
            priority=rule.priority,
            stacking=rule.stacking,
            limit_count=rule.limit_count,
            limit_period=rule.limit_period,
            campaign_id=rule.campaign_id,
            active=active,
            current=True,
            created_at=int(time.time()),
        )
    )


def _next_version(conn: Connection, brand_id: str, rule_id: str) -> int:
    q = select(func.max(T_RULE.c.version)).where(
        T_RULE.c.brand_id == brand_id, T_RULE.c.rule_id == rule_id
    )
    return int(conn.execute(q).scalar() or 0) + 1


def put_rule(
    *, engine: Engine, brand_id: str, rule_id: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """Create a rule, or edit it: a new version; the old ones stay for the earnings they paid."""
    active = spec.get("active", True)
    if not isinstance(active, bool):
        raise InvalidInput("active must be true or false")
    for _attempt in range(3):
        try:
            with sqlite_writer(engine), engine.begin() as conn:
                rule = parse_rule(rule_id, _next_version(conn, brand_id, rule_id), spec)
                if rule.campaign_id is not None:
                    _campaign(conn, brand_id, rule.campaign_id)
                _write(conn, brand_id, rule, active)
            return get_rule(engine=engine, brand_id=brand_id, rule_id=rule_id)
        except IntegrityError:  # another edit took the version number: take the next
            continue
    raise InvalidInput(f"rule {rule_id} is being edited concurrently; try again")


def set_active(*, engine: Engine, brand_id: str, rule_id: str, active: bool) -> dict[str, Any]:
    """Switch a rule on or off (a new version, like any edit)."""
    spec = get_rule(engine=engine, brand_id=brand_id, rule_id=rule_id)
    keep = ("name", "trigger", "conditions", "effect", "priority", "stacking", "campaign_id")
    body = {k: spec[k] for k in keep} | {"active": active}
    if spec["limit"] is not None:
        body["limit"] = spec["limit"]
    return put_rule(engine=engine, brand_id=brand_id, rule_id=rule_id, spec=body)


def get_rule(
    *, engine: Engine, brand_id: str, rule_id: str, version: int | None = None
) -> dict[str, Any]:
    q = select(T_RULE).where(T_RULE.c.brand_id == brand_id, T_RULE.c.rule_id == rule_id)
    q = q.where(T_RULE.c.current.is_(True) if version is None else T_RULE.c.version == version)
    with engine.connect() as conn:
        row = conn.execute(q).mappings().first()
    if row is None:
        raise UnknownRule(f"no rule {rule_id}" + (f" version {version}" if version else ""))
    return _spec(row)


def list_rules(
    *, engine: Engine, brand_id: str, versions_of: str | None = None
) -> list[dict[str, Any]]:
    """The current version of every rule, or every version of one rule."""
    q = select(T_RULE).where(T_RULE.c.brand_id == brand_id)
    if versions_of is None:
        q = q.where(T_RULE.c.current.is_(True)).order_by(T_RULE.c.priority.desc(), T_RULE.c.rule_id)
    else:
        q = q.where(T_RULE.c.rule_id == versions_of).order_by(T_RULE.c.version)
    with engine.connect() as conn:
        return [_spec(r) for r in conn.execute(q).mappings()]


def active_rules(conn: Connection, brand_id: str) -> list[Rule]:
    """What live earning and simulation evaluate: current, active versions, with the windows
    of their campaigns."""
    q = (
        select(T_RULE, T_CAMP.c.starts_at, T_CAMP.c.ends_at)
        .select_from(
            T_RULE.outerjoin(
                T_CAMP,
                and_(
                    T_CAMP.c.brand_id == T_RULE.c.brand_id,
                    T_CAMP.c.campaign_id == T_RULE.c.campaign_id,
                ),
            )
        )
        .where(T_RULE.c.brand_id == brand_id, T_RULE.c.current.is_(True), T_RULE.c.active.is_(True))
    )
    out = []
    for r in conn.execute(q).mappings():
        window = (int(r["starts_at"]), int(r["ends_at"])) if r["campaign_id"] else None
        out.append(_rule(r, window))
    return out


def has_trigger(conn: Connection, brand_id: str, trigger: str) -> bool:
    """Whether any rule (any version, on or off) ever named this trigger."""
    q = select(T_RULE.c.id).where(T_RULE.c.brand_id == brand_id, T_RULE.c.trigger == trigger)
    return conn.execute(q.limit(1)).first() is not None


def sync_defaults(
    conn: Connection, brand_id: str, amount_per_point: int, bonuses: dict[str, int]
) -> None:
    """Keep the default rules in step with the brand's earn rule (a version per change)."""
    want: dict[str, dict[str, Any]] = {
        BASE_RULE: {"type": "per_amount", "amount_per_point": amount_per_point}
    }
    triggers = {BASE_RULE: "purchase"}
    for action, pts in bonuses.items():
        want[f"bonus-{action}"] = {"type": "fixed", "points": int(pts)}
        triggers[f"bonus-{action}"] = f"action:{action}"
    q = select(T_RULE).where(
        T_RULE.c.brand_id == brand_id,
        T_RULE.c.current.is_(True),
        (T_RULE.c.rule_id == BASE_RULE) | T_RULE.c.rule_id.like("bonus-%"),
    )
    have = {r["rule_id"]: r for r in conn.execute(q).mappings()}
    for rid, effect in want.items():
        old = have.get(rid)
        if old is not None and dict(old["effect"]) == effect and old["active"]:
            continue
        version = _next_version(conn, brand_id, rid)
        name = "Base rate" if rid == BASE_RULE else f"{rid[6:]} bonus"
        rule = Rule(rid, version, triggers[rid], effect, name=name)
        _write(conn, brand_id, rule, True)
    for rid, old in have.items():
        if rid not in want and old["active"] and old["effect"].get("type") == "fixed":
            version = _next_version(conn, brand_id, rid)
            _write(conn, brand_id, replace(_rule(old), version=version), False)


def _campaign(conn: Connection, brand_id: str, campaign_id: str) -> dict[str, Any]:
    q = select(T_CAMP).where(T_CAMP.c.brand_id == brand_id, T_CAMP.c.campaign_id == campaign_id)
    row = conn.execute(q).mappings().first()
    if row is None:
        raise UnknownRule(f"no campaign {campaign_id}; create it first")
    return dict(row)


def has_rule(conn: Connection, brand_id: str, rule_id: str) -> bool:
    q = select(T_RULE.c.id).where(T_RULE.c.brand_id == brand_id, T_RULE.c.rule_id == rule_id)
    return conn.execute(q.limit(1)).first() is not None
