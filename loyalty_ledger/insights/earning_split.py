"""A brand's earnings in a period split by rule (from the lines that explain each earning), by
channel or by store (from the orders), and tier migration (up, down, stayed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, distinct, func, select

from ..programme.rules.tier_job import tier_migration
from ..store.offchain import EarnRecord, table
from ..store.rules_tables import EarnLine
from .period import Period

T_EARN, T_LINE = table(EarnRecord), table(EarnLine)
SPLITS = ("rule", "channel", "store")


def earnings_split(
    *, engine: Engine, brand_id: str, period: Period, by: str
) -> list[dict[str, Any]]:
    """Points, earnings and members per rule, channel or store (None: orders without one)."""
    e = T_EARN.c
    when = (e.brand_id == brand_id) & (e.ordered_at >= period.start) & (e.ordered_at < period.end)
    if by == "rule":
        key = T_LINE.c.rule_id
        q = select(
            key,
            func.sum(T_LINE.c.points),
            func.count(distinct(e.id)),
            func.count(distinct(e.member)),
        )
        q = q.select_from(T_LINE.join(T_EARN, e.id == T_LINE.c.earn_id))
    else:
        key = e.channel if by == "channel" else e.store_id
        q = select(key, func.sum(e.points), func.count(), func.count(distinct(e.member)))
        q = q.where(e.reason == "purchase")
    with engine.connect() as conn:
        rows = conn.execute(q.where(when).group_by(key).order_by(key)).all()
    return [
        {by: k, "points": int(p or 0), "earnings": int(n), "members": int(m)} for k, p, n, m in rows
    ]


def tier_moves(*, engine: Engine, brand_id: str, period: Period) -> dict[str, int]:
    """Members whose tier went up, down, or stayed in the period."""
    return tier_migration(engine=engine, brand_id=brand_id, start=period.start, end=period.end)
