"""What segments filter on, per member of a brand, read in a handful of aggregate queries:
points (mirror), tier (mirror), live expiring lots (mirror), purchases (earn records), the
profile, and the RFM and churn scores computed from the purchases."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import Connection, Engine, func, select

from ..chain.deploy import Program
from ..store import models as m
from ..store.crm_tables import T_PROFILE
from ..store.offchain import EarnRecord, table
from . import churn

T_EARN = table(EarnRecord)
T_BAL = m.Balance.__table__  # type: ignore[attr-defined]
T_PASS = m.Pass.__table__  # type: ignore[attr-defined]
T_LOT = m.PointLot.__table__  # type: ignore[attr-defined]


@dataclass
class Facts:
    """One member's standing with a brand (key: the lower-case address)."""

    key: str  # the lower-case address
    known: str | None = None  # the checksummed form, when a table had it
    balance: int = 0
    tier: int | None = None  # None: no pass
    lots: list[tuple[int, int]] = field(default_factory=list)  # (expires_at, amount), live
    orders: int = 0
    spend: int = 0
    last_purchase: int | None = None
    rfm: tuple[int, int, int] | None = None
    churn: churn.Risk | None = None
    profile: dict[str, Any] | None = None

    @property
    def member(self) -> str:
        """The checksummed address (computed only when needed: it costs a keccak)."""
        if self.known is None:
            self.known = to_checksum_address(self.key)
        return self.known

    def expiring(self, days: int, now: int) -> int:
        """Points whose lot expires within `days` days of now."""
        end = now + days * churn.DAY
        return sum(a for t, a in self.lots if now < t <= end)


def _get(out: dict[str, Facts], addr: str) -> Facts:
    key = addr.lower()
    f = out.get(key)
    if f is None:
        f = out[key] = Facts(key=key)
    if f.known is None and addr != key:
        f.known = addr  # earn records and profiles store checksummed addresses
    return f


def brand_buyers(conn: Connection, brand_id: str, now: int) -> list[churn.Buyer]:
    """Every customer of the brand with a purchase before `now`, aggregated in SQL."""
    e = T_EARN
    q = (
        select(e.c.member, func.count(), func.sum(e.c.order_amount))
        .add_columns(func.min(e.c.ordered_at), func.max(e.c.ordered_at))
        .where(e.c.brand_id == brand_id, e.c.reason == "purchase")
        .where(e.c.order_amount.is_not(None), e.c.ordered_at <= now)
        .group_by(e.c.member)
    )
    return [
        churn.Buyer(m, int(n), int(spend or 0), int(first), int(last))
        for m, n, spend, first, last in conn.execute(q)
    ]


def member_facts(*, engine: Engine, program: Program, now: int | None = None) -> dict[str, Facts]:
    """Every member who holds points, a pass, bought or has a profile with the brand."""
    now = int(time.time()) if now is None else now
    out: dict[str, Facts] = {}
    token, pass_ = program.points.lower(), program.pass_.lower()
    with engine.connect() as conn:
        for holder, amount in conn.execute(
            select(T_BAL.c.holder, T_BAL.c.amount).where(T_BAL.c.token == token, T_BAL.c.amount > 0)
        ):
            _get(out, holder).balance = int(amount)
        for owner, tier in conn.execute(
            select(T_PASS.c.owner, T_PASS.c.tier).where(T_PASS.c.contract == pass_)
        ):
            _get(out, owner).tier = int(tier)
        lots = select(T_LOT.c.holder, T_LOT.c.expires_at, T_LOT.c.amount).where(
            T_LOT.c.token == token, T_LOT.c.expires_at > now
        )
        for holder, expires_at, amount in conn.execute(lots):
            _get(out, holder).lots.append((int(expires_at), int(amount)))
        buyers = brand_buyers(conn, program.brand_id, now)
        for b in buyers:
            f = _get(out, b.member)
            f.orders, f.spend, f.last_purchase = b.orders, b.spend, b.last
        for row in conn.execute(select(T_PROFILE).where(T_PROFILE.c.brand_id == program.brand_id)):
            _get(out, row.member).profile = dict(row._mapping)
    scores, rfm = churn.risks(buyers, as_of=now), churn.rfm(buyers, as_of=now)
    for b in buyers:
        f = out[b.member.lower()]  # Buyer.member is the form the earn records store
        f.churn, f.rfm = scores[b.member], rfm[b.member]
    return out
