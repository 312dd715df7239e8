"""Why an earning paid what it paid: its record, and each line with the rule version that
produced it (versions are never rewritten, so the answer does not change after an edit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, select

from loyalty_ledger.programme.rules.errors import UnknownRule

from .live import T_EARN
from .store import T_LINE, T_RULE


def explain_earning(*, engine: Engine, brand_id: str, earn_id: int) -> dict[str, Any]:
    q = select(T_EARN).where(T_EARN.c.brand_id == brand_id, T_EARN.c.id == earn_id)
    lines = (
        select(
            T_LINE,
            T_RULE.c.name,
            T_RULE.c.trigger,
            T_RULE.c.conditions,
            T_RULE.c.effect,
            T_RULE.c.stacking,
            T_RULE.c.priority,
        )
        .join(
            T_RULE,
            and_(
                T_RULE.c.brand_id == T_LINE.c.brand_id,
                T_RULE.c.rule_id == T_LINE.c.rule_id,
                T_RULE.c.version == T_LINE.c.version,
            ),
        )
        .where(T_LINE.c.earn_id == earn_id)
        .order_by(T_LINE.c.id)
    )
    with engine.connect() as conn:
        row = conn.execute(q).mappings().first()
        if row is None:
            raise UnknownRule(f"no earning {earn_id} in brand {brand_id}")
        got = [dict(x) for x in conn.execute(lines).mappings()]
    keep: tuple[str, ...] = ("rule_id", "version", "name", "campaign_id", "points", "perk_id")
    keep += ("why", "trigger", "conditions", "effect", "stacking", "priority")
    out = [{k: x[k] for k in keep} for x in got]
    total = sum(x["points"] for x in out)
    if not out and row["points"]:
        note = "points set by the caller (no rule)"
    elif total == row["points"]:
        note = "the points are the sum of the lines"
    else:  # cannot happen through earning; said plainly if the rows were edited by hand
        note = f"the lines add up to {total}, not {row['points']}"
    return {"earning": dict(row), "lines": out, "explanation": note}
