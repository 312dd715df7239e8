"""Trigger notifications (SQLite and PostgreSQL): points expiring, birthdays, tier changes and
perks within reach are queued once per occasion; tiers and perks held before the first run
are a silent baseline; a rerun queues nothing new."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select, update

from loyalty_ledger.config import Settings
from loyalty_ledger.crm import deliver
from loyalty_ledger.crm.triggers import run_triggers
from loyalty_ledger.store import models as m
from loyalty_ledger.store.crm_tables import T_NOTIFICATION
from loyalty_ledger.store.offchain import PerkRow, table

from .test_segments import MONTH, NOW, PROGRAM, A, seed

DAY = 86_400
WHEN = NOW + 4 * DAY  # A's 200 points expire at NOW + 10 days: within the 7-day notice


def _perk(db: Engine, name: str, cost: int) -> None:
    with db.begin() as c:
        c.execute(
            insert(table(PerkRow)).values(
                brand_id="acme", name=name, point_cost=cost, min_points=0, created_at=NOW
            )
        )


def test_triggers_queue_once_per_occasion(db: Engine, tmp_path: Path) -> None:
    seed(db)
    _perk(db, "Cake {big}", 100)
    s = Settings(data_dir=tmp_path, public_url="http://shop.example")
    born = int(datetime.fromtimestamp(WHEN, UTC).month == MONTH)
    first = run_triggers(engine=db, settings=s, program=PROGRAM, now=WHEN)
    assert first == {"points_expiring": 1, "perk_available": 0, "tier_changed": 0, "birthday": born}
    with db.connect() as c:
        kinds = dict(c.execute(select(T_NOTIFICATION.c.kind, T_NOTIFICATION.c.state)).all())
    assert kinds["tier_changed"] == "skipped" and kinds["perk_available"] == "skipped"
    again = run_triggers(engine=db, settings=s, program=PROGRAM, now=WHEN)
    assert set(again.values()) == {0}
    pas = m.Pass.__table__  # type: ignore[attr-defined]
    with db.begin() as c:
        c.execute(update(pas).where(pas.c.owner == A).values(tier=3))
    _perk(db, "Mug", 50)
    later = run_triggers(engine=db, settings=s, program=PROGRAM, now=WHEN + 60)
    assert later == {"points_expiring": 0, "perk_available": 1, "tier_changed": 1, "birthday": 0}
    sent = deliver.deliver_due(db, s, now=int(time.time()))
    assert sent == {"sent": 2 + 1 + born}
    text = b"".join(p.read_bytes() for p in (tmp_path / "mail").glob("*.eml"))
    assert b"tier 3" in text and b"Mug" in text and b"expire on" in text
    assert b"Cake" not in text  # the baseline was never sent
