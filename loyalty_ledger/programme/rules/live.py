"""Live earning through the rules, inside the earning's own SQL transaction: the member's facts
(n-th order, tier, birth month, referrer), a gate that reserves per-member limits and campaign
budgets with conditional UPDATEs (so concurrent earnings never overspend), and the lines
written (`store.rules_tables.release_lines` gives their reservations back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from loyalty_ledger.store.models import Pass
from loyalty_ledger.store.offchain import EarnRecord, table
from loyalty_ledger.store.rules_tables import RuleMember, RuleUsage

from .evaluate import Outcome, period_key, price
from .model import Event, Line, Rule
from .store import T_LINE, active_rules

T_EARN, T_USAGE, T_PROFILE, T_PASS = (
    table(EarnRecord),
    table(RuleUsage),
    table(RuleMember),
    table(Pass),
)


# The gate's statements as plain SQL (the same on SQLite >= 3.24 and PostgreSQL): they run for
# every limited or campaign rule of every earning, and building them with the expression
# language cost more than running them (benchmarks/bench_rules.py).
_KEY = "brand_id = :b AND rule_id = :r AND member = :m AND period = :p"
USE_ROW = text(
    "INSERT INTO rule_usage (brand_id, rule_id, member, period, used) "
    "VALUES (:b, :r, :m, :p, 0) ON CONFLICT DO NOTHING"
)
USE_ONE = text(f"UPDATE rule_usage SET used = used + 1 WHERE {_KEY} AND used < :n")
GIVE_ONE = text(f"UPDATE rule_usage SET used = used - 1 WHERE {_KEY}")
SPEND = text(
    "UPDATE campaign SET spent = spent + :pts WHERE brand_id = :b AND campaign_id = :c "
    "AND (budget IS NULL OR spent + :pts <= budget)"
)


class SqlGate:
    """Reserves a rule's per-member use and its campaign's budget in the open transaction."""

    def __init__(self, conn: Connection, brand_id: str, member: str, at: int) -> None:
        self.conn, self.brand_id, self.member, self.at = conn, brand_id, member, at

    def _key(self, rule: Rule) -> dict[str, Any]:
        p = period_key(rule.limit_period, self.at)
        return {"b": self.brand_id, "r": rule.rule_id, "m": self.member, "p": p}

    def __call__(self, rule: Rule, points: int) -> str | None:
        if rule.limit_count is not None:
            self.conn.execute(USE_ROW, self._key(rule))
            res = self.conn.execute(USE_ONE, self._key(rule) | {"n": rule.limit_count})
            if res.rowcount != 1:
                return f"limit of {rule.limit_count} per {rule.limit_period} reached"
        if rule.campaign_id is not None and points > 0:
            args = {"pts": points, "b": self.brand_id, "c": rule.campaign_id}
            if self.conn.execute(SPEND, args).rowcount != 1:
                if rule.limit_count is not None:
                    self.conn.execute(GIVE_ONE, self._key(rule))
                return f"budget of campaign {rule.campaign_id} spent"
        return None


def profile(conn: Connection, brand_id: str, member: str) -> dict[str, Any] | None:
    q = select(T_PROFILE).where(T_PROFILE.c.brand_id == brand_id, T_PROFILE.c.member == member)
    row = conn.execute(q).mappings().first()
    return None if row is None else dict(row)


def member_tier(conn: Connection, pass_contract: str, member: str) -> int | None:
    """The member's tier in the mirror (which keeps addresses in lower case); None: no pass."""
    q = select(T_PASS.c.tier).where(
        T_PASS.c.contract == pass_contract.lower(), T_PASS.c.owner == member.lower()
    )
    tier = conn.execute(q).scalar()
    return None if tier is None else int(tier)


def event_of(values: dict[str, Any], order_n: int, tier: int | None, prof: dict[str, Any]) -> Event:
    """The event the rules see for an earn record's values (live) or a past order (simulate)."""
    tags = values.get("tags")
    purchase = values["reason"] == "purchase"
    return Event(
        trigger="purchase" if purchase else f"action:{values['reason']}",
        at=int(values["ordered_at"]),
        amount=int(values.get("order_amount") or 0),
        order_n=order_n,
        channel=values.get("channel"),
        store_id=values.get("store_id"),
        tags=frozenset(tags.split(",")) if tags else frozenset(),
        tier=tier,
        birth_month=prof.get("birth_month"),
        referred=prof.get("referred_by") is not None,
    )


@dataclass
class Plan:
    """How one brand's earning is evaluated: its rules, base rate and pass contract."""

    brand_id: str
    pass_contract: str
    base_rate: int

    def event(self, conn: Connection, values: dict[str, Any]) -> tuple[Event, str | None]:
        """The event the rules see for a claimed record (the claim itself already counted)."""
        member, purchase = values["member"], values["reason"] == "purchase"
        order_n = 0
        if purchase:
            q = select(func.count()).where(
                T_EARN.c.brand_id == self.brand_id,
                T_EARN.c.member == member,
                T_EARN.c.reason == "purchase",
            )
            order_n = int(conn.execute(q).scalar() or 0)
        prof = profile(conn, self.brand_id, member) or {}
        tier = member_tier(conn, self.pass_contract, member)
        ev = event_of(values, order_n, tier, prof)
        return ev, prof.get("referred_by")

    def apply(self, conn: Connection, earn_id: int, values: dict[str, Any]) -> Outcome:
        """Evaluate the brand's rules for a claimed record and write the member's lines."""
        ev, referrer = self.event(conn, values)
        rules = active_rules(conn, self.brand_id)
        gate = SqlGate(conn, self.brand_id, values["member"], ev.at)
        out = price(rules, ev, base_rate=self.base_rate, gate=gate, referrer=referrer)
        mine = [x for x in out.lines if x.beneficiary == "member"]
        write_lines(conn, self.brand_id, earn_id, mine, values["member"])
        return out


def write_lines(
    conn: Connection, brand_id: str, earn_id: int, lines: list[Line], user: str
) -> None:
    """The lines of one earning record (`user`: the member whose per-member limits they used)."""
    if lines:
        conn.execute(insert(T_LINE), line_rows(brand_id, earn_id, lines, user))


def line_rows(brand_id: str, earn_id: int, lines: list[Line], user: str) -> list[dict[str, Any]]:
    """The `earn_line` rows of one earning record's lines."""
    return [
        {
            "earn_id": earn_id,
            "brand_id": brand_id,
            "rule_id": x.rule_id,
            "version": x.version,
            "campaign_id": x.campaign_id,
            "points": x.points,
            "perk_id": x.perk_id,
            "why": x.why[:500],
            "usage_member": user if x.usage_period is not None else None,
            "usage_period": x.usage_period,
        }
        for x in lines
    ]
