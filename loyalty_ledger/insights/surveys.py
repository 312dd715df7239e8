"""NPS survey answers: recorded by a brand for a member, once per survey."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput
from ..programme.order_time import EARLIEST_ORDER, event_time
from ..store.insights_tables import T_SURVEY
from ..validate import checksum_address


def record_answer(
    *,
    engine: Engine,
    brand_id: str,
    member: str,
    survey_id: str,
    score: int,
    comment: str = "",
    answered_at: int | None = None,
    earliest: int = EARLIEST_ORDER,
) -> tuple[dict[str, Any], bool]:
    """Store an answer (0-10); returns (the stored answer, duplicate?). Re-sending is a no-op.

    `answered_at` (Unix seconds; default now) is bounded like an order's time: at most five
    minutes ahead of our clock and not before `earliest`, the programme's start
    (`programme.order_time.event_time`).
    """
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise InvalidInput("score must be a whole number from 0 to 10")
    if not survey_id or len(survey_id) > 64:
        raise InvalidInput("survey_id must be text of 1 to 64 characters")
    now = int(time.time())
    when = now
    if answered_at is not None:
        when = event_time(int(answered_at), "answered_at", now=now, earliest=earliest)
    values = {
        "brand_id": brand_id,
        "member": checksum_address(member),
        "survey_id": survey_id,
        "score": score,
        "comment": comment[:500],
        "answered_at": when,
        "created_at": now,
    }
    duplicate = False
    try:
        with engine.begin() as conn:
            conn.execute(insert(T_SURVEY).values(**values))
    except IntegrityError:
        duplicate = True
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(T_SURVEY).where(
                    T_SURVEY.c.brand_id == brand_id,
                    T_SURVEY.c.survey_id == survey_id,
                    T_SURVEY.c.member == values["member"],
                )
            )
            .mappings()
            .one()
        )
    return dict(row), duplicate
