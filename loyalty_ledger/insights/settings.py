"""A brand's insights settings: how many days without a purchase make a customer churned."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput
from ..store.insights_tables import T_SETTING

DEFAULT_CHURN_DAYS = 90
MAX_CHURN_DAYS = 730


def churn_days(conn: Connection, *, brand_id: str) -> int:
    """The brand's churn window (default DEFAULT_CHURN_DAYS)."""
    days = conn.execute(
        select(T_SETTING.c.churn_days).where(T_SETTING.c.brand_id == brand_id)
    ).scalar()
    return DEFAULT_CHURN_DAYS if days is None else int(days)


def get_settings(*, engine: Engine, brand_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return {"brand_id": brand_id, "churn_days": churn_days(conn, brand_id=brand_id)}


def set_settings(*, engine: Engine, brand_id: str, churn_days: int) -> dict[str, Any]:
    """Set the churn window: a whole number of days from 1 to MAX_CHURN_DAYS."""
    if isinstance(churn_days, bool) or not isinstance(churn_days, int):
        raise InvalidInput("churn_days must be a whole number of days")
    if not 1 <= churn_days <= MAX_CHURN_DAYS:
        raise InvalidInput(f"churn_days must be from 1 to {MAX_CHURN_DAYS}")
    values = {"churn_days": churn_days, "updated_at": int(time.time())}
    try:
        _upsert(engine, brand_id, values)
    except IntegrityError:  # another writer inserted the row first: update it
        _upsert(engine, brand_id, values)
    return get_settings(engine=engine, brand_id=brand_id)


def _upsert(engine: Engine, brand_id: str, values: dict[str, int]) -> None:
    with engine.begin() as conn:
        done = conn.execute(
            update(T_SETTING).where(T_SETTING.c.brand_id == brand_id).values(**values)
        )
        if done.rowcount == 0:
            conn.execute(insert(T_SETTING).values(brand_id=brand_id, **values))
