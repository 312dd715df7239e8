"""CSV export of a brand's tables, as the brand may see them: personal data only where the
member consented, never a notification's recipient or text."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, Table, select

from ..chain.deploy import Program
from ..errors import NotFound
from ..store import models as m
from ..store.crm_tables import T_NOTIFICATION, T_SEGMENT
from ..store.offchain import EarnRecord, PerkRow, Redemption, table
from .facts import member_facts
from .member360 import profiles_table

T_LEDGER = m.LedgerEntry.__table__  # type: ignore[attr-defined]
HIDDEN = {"recipient", "subject", "body", "error"}  # a notification's personal parts


def _rows(engine: Engine, t: Table, where: Any) -> Iterator[dict[str, Any]]:
    cols = [c for c in t.c if c.name not in HIDDEN]
    with engine.connect() as conn:
        for r in conn.execute(select(*cols).where(where).order_by(cols[0])).mappings():
            yield dict(r)


def _members(engine: Engine, program: Program) -> Iterator[dict[str, Any]]:
    now = int(time.time())
    for f in member_facts(engine=engine, program=program, now=now).values():
        yield {
            "member": f.member,
            "balance": f.balance,
            "tier": f.tier,
            "orders": f.orders,
            "spend": f.spend,
            "last_purchase": f.last_purchase,
            "rfm": "".join(map(str, f.rfm)) if f.rfm else None,
            "churn_risk": f.churn.score if f.churn else None,
        }


def tables(engine: Engine, program: Program) -> dict[str, Any]:
    """Name -> a function yielding the rows of that export."""
    bid = program.brand_id
    return {
        "members": lambda: _members(engine, program),
        "profiles": lambda: iter(profiles_table(engine=engine, brand_id=bid)),
        "orders": lambda: _rows(engine, table(EarnRecord), table(EarnRecord).c.brand_id == bid),
        "redemptions": lambda: _rows(
            engine, table(Redemption), table(Redemption).c.brand_id == bid
        ),
        "perks": lambda: _rows(engine, table(PerkRow), table(PerkRow).c.brand_id == bid),
        "notifications": lambda: _rows(engine, T_NOTIFICATION, T_NOTIFICATION.c.brand_id == bid),
        "segments": lambda: _rows(engine, T_SEGMENT, T_SEGMENT.c.brand_id == bid),
        "ledger": lambda: _rows(engine, T_LEDGER, T_LEDGER.c.token == program.points.lower()),
    }


def export_csv(*, engine: Engine, program: Program, name: str) -> Iterator[str]:
    """The CSV text of one export, in chunks (a header line first, even when empty)."""
    known = tables(engine, program)
    if name not in known:
        raise NotFound(f"no export {name!r}; known: {', '.join(known)}")
    rows = known[name]()
    first = next(rows, None)
    buf = io.StringIO()
    writer = csv.writer(buf)
    if first is None:
        yield "\n"
        return
    writer.writerow(first.keys())
    writer.writerow(first.values())
    for i, r in enumerate(rows):
        writer.writerow(r.values())
        if i % 1000 == 999:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
