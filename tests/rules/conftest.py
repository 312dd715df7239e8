"""Rules test fixtures: a migrated database on SQLite and on a fresh PostgreSQL schema, and
helpers that claim orders through the same claim + rules path as the API (no chain needed:
the claim and its rules are one SQL transaction before anything is sent)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import Engine

from loyalty_ledger.programme import earn
from loyalty_ledger.programme.claims import claim
from loyalty_ledger.programme.rules.live import Plan
from loyalty_ledger.store import make_engine, migrate

from ..pg import fresh_schema

PASS = "0x000000000000000000000000000000000000dEaD"
RATE = 1000


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'rules.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    with fresh_schema("rules") as url:
        eng = make_engine(url)
        migrate(eng)
        try:
            yield eng
        finally:
            eng.dispose()


def member() -> str:
    return str(Account.create().address)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def order(m: str, oid: str, amount: int, when: datetime, **extra: Any) -> dict[str, Any]:
    rule = earn.Rule("b", "VND", RATE, {})
    return earn.purchase_values(
        rule,
        member=m,
        order_id=oid,
        amount=amount,
        currency="VND",
        items=1,
        ordered_at=when,
        **extra,
    )


def plan(brand: str = "b") -> Plan:
    return Plan(brand, PASS, RATE)


def earn_order(
    engine: Engine, brand: str, values: dict[str, Any]
) -> list[tuple[int, dict[str, Any]]]:
    got = claim(engine, {"brand_id": brand, **values}, plan=plan(brand))
    assert got is not None
    return got


def setup_brand(engine: Engine, brand: str = "b", bonuses: dict[str, int] | None = None) -> None:
    """The brand's earn rule (1 point per 1,000) and so its default rules."""
    earn.set_rule(
        engine=engine, brand_id=brand, currency="VND", amount_per_point=RATE, bonuses=bonuses or {}
    )
