"""Segments: a brand's members filtered by rules, evaluated on demand (nothing is cached, so a
count is always live).

A rule set is `{"match": "all" | "any", "conditions": [condition, ...]}`; a condition is
`{"field": F, "op": OP, "value": V}` (plus `"days"` for `expiring_points`). Fields:

| field | value | meaning |
|---|---|---|
| `tier` | int | the pass tier (members without a pass never match) |
| `balance` | int | points held |
| `expiring_points` | int, with `days` | points whose lot expires within `days` days |
| `days_since_purchase` | int | days since the last purchase (never bought: no match) |
| `rfm`, `rfm_r`, `rfm_f`, `rfm_m` | int | RFM quintiles 1-5 (5 best) and their sum 3-15 |
| `churn_risk` | int 0-100 | the explainable churn score (`churn`) |
| `birthday_this_month` | bool | from the profile (no profile: false) |
| `channel`, `region` | text | from the profile (ops `==`, `!=`, `in`) |
| `consent` | bool | marketing consent (no profile: false) |
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from ..chain.deploy import Program
from ..errors import InvalidInput, NotFound
from ..store.crm_tables import T_SEGMENT
from .facts import Facts, member_facts

NUMERIC = {
    "tier",
    "balance",
    "expiring_points",
    "days_since_purchase",
    "rfm",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "churn_risk",
}
BOOLEAN = {"birthday_this_month", "consent"}
TEXT = {"channel", "region"}
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
MAX_CONDITIONS = 20


def _condition(c: Any) -> dict[str, Any]:
    if not isinstance(c, dict) or not isinstance(c.get("field"), str):
        raise InvalidInput("each condition is an object with a field, an op and a value")
    f, op, v = c["field"], c.get("op", "=="), c.get("value")
    known = sorted(NUMERIC | BOOLEAN | TEXT)
    if f not in known:
        raise InvalidInput(f"unknown segment field {f!r}; known: {', '.join(known)}")
    out: dict[str, Any] = {"field": f, "op": op, "value": v}
    if f in NUMERIC:
        if op not in OPS or isinstance(v, bool) or not isinstance(v, int):
            raise InvalidInput(f"{f} takes an op of {' '.join(OPS)} and a whole number")
    elif f in BOOLEAN:
        if op not in ("==", "!=") or not isinstance(v, bool):
            raise InvalidInput(f"{f} takes == or != and true or false")
    elif op in ("==", "!="):
        if not isinstance(v, str):
            raise InvalidInput(f"{f} takes a text value")
    elif op == "in":
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v) or not v:
            raise InvalidInput(f"{f} in takes a non-empty list of texts")
    else:
        raise InvalidInput(f"{f} takes ==, != or in")
    if f == "expiring_points":
        days = c.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
            raise InvalidInput("expiring_points needs days: a whole number from 1 to 3650")
        out["days"] = days
    return out


def validate_rules(rules: Any) -> dict[str, Any]:
    """The rule set checked and normalised; InvalidInput naming what is wrong."""
    if not isinstance(rules, dict):
        raise InvalidInput("rules must be an object: {match, conditions}")
    match = rules.get("match", "all")
    if match not in ("all", "any"):
        raise InvalidInput("match must be all or any")
    conds = rules.get("conditions")
    if not isinstance(conds, list) or len(conds) > MAX_CONDITIONS:
        raise InvalidInput(f"conditions must be a list of at most {MAX_CONDITIONS}")
    return {"match": match, "conditions": [_condition(c) for c in conds]}


def _value(f: Facts, c: dict[str, Any], now: int) -> Any:
    name, p = c["field"], f.profile or {}
    if name == "expiring_points":
        return f.expiring(c["days"], now)
    if name == "days_since_purchase":
        return None if f.last_purchase is None else (now - f.last_purchase) // 86_400
    if name.startswith("rfm"):
        return (
            None
            if f.rfm is None
            else (sum(f.rfm) if name == "rfm" else f.rfm["rfm".index(name[-1])])
        )
    if name == "churn_risk":
        return None if f.churn is None else f.churn.score
    if name == "birthday_this_month":
        return p.get("birth_month") == datetime.fromtimestamp(now, UTC).month
    if name == "consent":
        return bool(p.get("consent"))
    if name in TEXT:
        return p.get(name)
    return getattr(f, name)


def matches(f: Facts, rules: dict[str, Any], now: int) -> bool:
    """Whether one member matches a validated rule set (no conditions: everyone)."""
    results = []
    for c in rules["conditions"]:
        v = _value(f, c, now)
        if c["op"] == "in":
            results.append(v in c["value"])
        else:
            results.append(v is not None and OPS[c["op"]](v, c["value"]))
    return any(results) if rules["match"] == "any" and results else all(results)


def evaluate(
    *, engine: Engine, program: Program, rules: Any, now: int | None = None
) -> list[Facts]:
    """The members matching `rules`, live."""
    now = int(time.time()) if now is None else now
    checked = validate_rules(rules)
    facts = member_facts(engine=engine, program=program, now=now)
    return [f for f in facts.values() if matches(f, checked, now)]


def save_segment(*, engine: Engine, brand_id: str, name: str, rules: Any) -> dict[str, Any]:
    """Save a named rule set for the brand."""
    name = name.strip()
    if not name or len(name) > 80 or not name.isprintable():
        raise InvalidInput("a segment name is 1 to 80 printable characters")
    checked = validate_rules(rules)
    try:
        with engine.begin() as conn:
            sid = conn.execute(
                insert(T_SEGMENT).values(
                    brand_id=brand_id, name=name, rules=checked, created_at=int(time.time())
                )
            ).inserted_primary_key[0]  # type: ignore[index]
    except IntegrityError:
        raise InvalidInput(f"brand {brand_id} already has a segment named {name!r}") from None
    return get_segment(engine=engine, brand_id=brand_id, segment_id=int(sid))


def get_segment(*, engine: Engine, brand_id: str, segment_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(T_SEGMENT).where(
                    T_SEGMENT.c.brand_id == brand_id, T_SEGMENT.c.id == segment_id
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"brand {brand_id} has no segment {segment_id}")
    return dict(row)


def list_segments(*, engine: Engine, brand_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        q = select(T_SEGMENT).where(T_SEGMENT.c.brand_id == brand_id).order_by(T_SEGMENT.c.id)
        return [dict(r) for r in conn.execute(q).mappings()]


def delete_segment(*, engine: Engine, brand_id: str, segment_id: int) -> None:
    with engine.begin() as conn:
        res = conn.execute(
            delete(T_SEGMENT).where(T_SEGMENT.c.brand_id == brand_id, T_SEGMENT.c.id == segment_id)
        )
    if res.rowcount == 0:
        raise NotFound(f"brand {brand_id} has no segment {segment_id}")
