"""Campaigns: a named window (start, end) with an optional budget of points that groups rules,
and the report of what it cost and whom it reached (from the lines its rules wrote)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, distinct, func, insert, select, update

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme.rules.errors import UnknownRule
from loyalty_ledger.store.offchain import EarnRecord, table
from loyalty_ledger.store.writer_lock import sqlite_writer

from .model import RULE_ID
from .store import T_CAMP, T_LINE, T_RULE

T_EARN = table(EarnRecord)


def put_campaign(
    *,
    engine: Engine,
    brand_id: str,
    campaign_id: str,
    starts_at: int,
    ends_at: int,
    budget: int | None = None,
    name: str = "",
) -> dict[str, Any]:
    """Create or change a campaign (what it spent stays; the budget may not go below it)."""
    if not isinstance(campaign_id, str) or not RULE_ID.match(campaign_id):
        raise InvalidInput("campaign id: 1 to 64 letters, digits, _ . : - (starting alphanumeric)")
    for v, what in ((starts_at, "starts_at"), (ends_at, "ends_at")):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**62:
            raise InvalidInput(f"{what} must be Unix seconds")
    if ends_at <= starts_at:
        raise InvalidInput("a campaign ends after it starts")
    if budget is not None and (isinstance(budget, bool) or not 0 <= budget < 2**62):
        raise InvalidInput("budget must be a whole number of points >= 0 (or null: no budget)")
    values = {"name": name[:128], "starts_at": starts_at, "ends_at": ends_at, "budget": budget}
    key = (T_CAMP.c.brand_id == brand_id) & (T_CAMP.c.campaign_id == campaign_id)
    with sqlite_writer(engine), engine.begin() as conn:
        row = conn.execute(select(T_CAMP.c.spent).where(key)).first()
        if row is None:
            conn.execute(
                insert(T_CAMP).values(
                    brand_id=brand_id,
                    campaign_id=campaign_id,
                    spent=0,
                    created_at=int(time.time()),
                    **values,
                )
            )
        else:
            if budget is not None and budget < row[0]:
                raise InvalidInput(f"the campaign has spent {row[0]} points already")
            conn.execute(update(T_CAMP).where(key).values(**values))
    return campaign_report(engine=engine, brand_id=brand_id, campaign_id=campaign_id)


def list_campaigns(*, engine: Engine, brand_id: str) -> list[dict[str, Any]]:
    q = select(T_CAMP.c.campaign_id).where(T_CAMP.c.brand_id == brand_id)
    with engine.connect() as conn:
        ids = list(conn.execute(q.order_by(T_CAMP.c.starts_at)).scalars())
    return [campaign_report(engine=engine, brand_id=brand_id, campaign_id=c) for c in ids]


def campaign_report(*, engine: Engine, brand_id: str, campaign_id: str) -> dict[str, Any]:
    """The campaign, its rules, and what it cost: points paid, earnings, members reached."""
    key = (T_CAMP.c.brand_id == brand_id) & (T_CAMP.c.campaign_id == campaign_id)
    lines = (T_LINE.c.brand_id == brand_id) & (T_LINE.c.campaign_id == campaign_id)
    cost = select(
        func.coalesce(func.sum(T_LINE.c.points), 0),
        func.count(distinct(T_LINE.c.earn_id)),
        func.count(distinct(T_EARN.c.member)),
    ).select_from(T_LINE.join(T_EARN, T_EARN.c.id == T_LINE.c.earn_id))
    rules = select(T_RULE.c.rule_id).where(
        T_RULE.c.brand_id == brand_id,
        T_RULE.c.campaign_id == campaign_id,
        T_RULE.c.current.is_(True),
    )
    with engine.connect() as conn:
        row = conn.execute(select(T_CAMP).where(key)).mappings().first()
        if row is None:
            raise UnknownRule(f"no campaign {campaign_id}")
        points, earnings, reach = conn.execute(cost.where(lines)).one()
        rule_ids = sorted(conn.execute(rules).scalars())
    out = {k: row[k] for k in ("campaign_id", "name", "starts_at", "ends_at", "budget", "spent")}
    remaining = None if row["budget"] is None else row["budget"] - row["spent"]
    return out | {
        "remaining": remaining,
        "rules": rule_ids,
        "cost": int(points),
        "earnings": int(earnings),
        "members_reached": int(reach),
    }
