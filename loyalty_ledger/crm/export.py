"""CSV export of a brand's tables, as the brand may see them: personal data only where the
member consented, never a notification's recipient or text."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, Table, select

from ..chain.deploy import Program
from ..chain.revert import decode_brand_id
from ..errors import NotFound
from ..store import models as m
from ..store.crm_tables import T_NOTIFICATION, T_SEGMENT, T_WEBHOOK
from ..store.offchain import EarnRecord, PerkRow, Redemption, table
from ..store.rules_tables import Campaign, EarnLine, RuleVersion
from .facts import member_facts
from .member360 import profiles_table

T_LEDGER = m.LedgerEntry.__table__  # type: ignore[attr-defined]
T_EXCHANGE = m.Exchange.__table__  # type: ignore[attr-defined]
HIDDEN = {"recipient", "subject", "body", "error"}  # a notification's personal parts


def _rows(engine: Engine, t: Table, where: Any) -> Iterator[dict[str, Any]]:
    cols = [c for c in t.c if c.name not in HIDDEN]
    with engine.connect() as conn:
        for r in conn.execute(select(*cols).where(where).order_by(cols[0])).mappings():
            yield dict(r)


def _exchanges(engine: Engine, brand_id: str) -> Iterator[dict[str, Any]]:
    """The mirror's exchanges this brand takes part in (brand ids decoded)."""

    def brand(raw: str) -> str:
        return decode_brand_id(bytes.fromhex(raw[2:])) if raw.startswith("0x") else raw

    for r in _rows(engine, T_EXCHANGE, T_EXCHANGE.c.id >= 0):
        r["from_brand"], r["to_brand"] = brand(r["from_brand"]), brand(r["to_brand"])
        if brand_id in (r["from_brand"], r["to_brand"]):
            yield r


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
        "rules": lambda: _rows(engine, table(RuleVersion), table(RuleVersion).c.brand_id == bid),
        "campaigns": lambda: _rows(engine, table(Campaign), table(Campaign).c.brand_id == bid),
        "earning_lines": lambda: _rows(engine, table(EarnLine), table(EarnLine).c.brand_id == bid),
        "exchanges": lambda: _exchanges(engine, bid),
        "webhooks": lambda: _rows(engine, T_WEBHOOK, T_WEBHOOK.c.brand_id == bid),
    }


def _cell(v: Any) -> Any:
    """A CSV cell: JSON for a rule's conditions and effect, the value itself otherwise."""
    return json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v


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
    writer.writerow(map(_cell, first.values()))
    for i, r in enumerate(rows):
        writer.writerow(map(_cell, r.values()))
        if i % 1000 == 999:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
