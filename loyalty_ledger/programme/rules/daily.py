"""A brand's daily rules job: the birthday bonus without a purchase, then the tier evaluation.

The birthday bonus is the brand's rules for the `birthday` action (`action:birthday`), like
any other action: each member whose birth month it is gets one earning a year, whose key is
`action:birthday:<member>:<year>`. The claim, its rule lines and its outbox intent are one SQL
transaction, so a run killed half-way and run again (or a second run the same day) grants
nobody twice; how many points (or which perk) is up to the rules and their conditions
(`birthday_month`, `min_tier`, a per-member limit ...).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.chain.sender import Sender
from loyalty_ledger.errors import LedgerError
from loyalty_ledger.programme import earn
from loyalty_ledger.store.offchain import table
from loyalty_ledger.store.rules_tables import RuleMember

from .live import T_EARN
from .store import T_RULE
from .tier_job import evaluate_tiers, has_tier_rule

BIRTHDAY = "birthday"
T_PROFILE = table(RuleMember)
log = logging.getLogger(__name__)


def birthday_key(member: str, year: int) -> str:
    """The action id of a member's birthday earning in a year (one claim per member and year)."""
    return f"{member}:{year}"


def has_birthday_rule(engine: Engine, brand_id: str) -> bool:
    """Whether a current, active rule of the brand has the trigger `action:birthday`."""
    r = T_RULE.c
    q = select(r.id).where(
        r.brand_id == brand_id,
        r.trigger == f"action:{BIRTHDAY}",
        r.current.is_(True),
        r.active.is_(True),
    )
    with engine.connect() as conn:
        return conn.execute(q.limit(1)).first() is not None


def due_birthdays(engine: Engine, brand_id: str, month: int, year: int) -> list[str]:
    """Members of the brand born in `month` without a birthday earning in `year` yet."""
    p, e = T_PROFILE.c, T_EARN.c
    with engine.connect() as conn:
        born = conn.execute(
            select(p.member).where(p.brand_id == brand_id, p.birth_month == month)
        ).scalars()
        members = sorted(set(born))
        prefix = f"action:{BIRTHDAY}:"
        done = conn.execute(
            select(e.member).where(
                e.brand_id == brand_id,
                e.reason == BIRTHDAY,
                e.idem_key.like(f"{prefix}%:{year}"),
            )
        ).scalars()
        granted = set(done)
    return [m for m in members if m not in granted]


def grant_birthdays(
    *, engine: Engine, sender: Sender, program: Program, now: int | None = None
) -> dict[str, Any]:
    """Queue this year's birthday earning of every member born this month (UTC) who has none."""
    brand_id = program.brand_id
    if not has_birthday_rule(engine, brand_id):
        return {"rule": False, "due": 0, "granted": 0, "points": 0, "intents": []}
    d = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    due = due_birthdays(engine, brand_id, d.month, d.year)
    out: dict[str, Any] = {"rule": True, "due": len(due), "granted": 0, "points": 0}
    intents: list[int] = []
    for member in due:
        got = earn.earn_action(
            engine=engine,
            sender=sender,
            program=program,
            member=member,
            action=BIRTHDAY,
            action_id=birthday_key(member, d.year),
            queued=True,
        )
        if got.duplicate:
            continue  # a run beside this one granted it first
        out["granted"] += 1
        out["points"] += int(got.record["points"])
        if got.record.get("intent_id") is not None:
            intents.append(int(got.record["intent_id"]))
    return out | {"intents": intents}


def run_daily(
    *, engine: Engine, sender: Sender, program: Program, now: int | None = None
) -> dict[str, Any]:
    """The brand's birthday bonuses, then its tier evaluation (when it has a tier rule)."""
    out: dict[str, Any] = {"brand_id": program.brand_id}
    out["birthday"] = grant_birthdays(engine=engine, sender=sender, program=program, now=now)
    out["tiers"] = None
    if has_tier_rule(engine, program.brand_id, fresh=True):
        out["tiers"] = evaluate_tiers(engine=engine, sender=sender, program=program, now=now)
    return out


def run_daily_safely(
    *, engine: Engine, sender: Sender, program: Program, now: int | None = None
) -> dict[str, Any] | None:
    """`run_daily`, with a failure logged rather than raised (the next run catches up)."""
    try:
        return run_daily(engine=engine, sender=sender, program=program, now=now)
    except (LedgerError, SQLAlchemyError) as exc:
        log.warning("daily rules job of %s failed: %s", program.brand_id, exc)
        return None
