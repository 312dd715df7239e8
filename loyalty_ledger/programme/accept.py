"""The accept path's SQL for one earn claim, in as few statements as the rules allow.

The member's facts the rules read (purchases so far, pass tier, birth month, referrer) come
in one statement (`claim_sql`: one for a whole group); the rules themselves come from
`rules_cache` (or are read in the claim's transaction when none are given). The SQL gate
(per-member limits, campaign budgets) is the rules engine's own, unchanged: it reserves with
conditional UPDATEs in the claim's transaction.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from loyalty_ledger.store.driver_sql import fetch_all
from loyalty_ledger.store.offchain import EarnRecord, table

from .claim_sql import LOCK_MEMBERS, Ask, group_facts
from .rules.evaluate import Outcome, price
from .rules.live import Plan, SqlGate, event_of
from .rules.model import Rule
from .rules.store import active_rules

T_EARN = table(EarnRecord)
COLUMNS = tuple(c.name for c in T_EARN.columns)


def member_keys(claims: Sequence[dict[str, Any]]) -> list[int]:
    """The lock keys of these claims' members (purchases only), sorted: two groups never
    wait on each other crosswise."""
    keys = {
        zlib.crc32(f"{v['brand_id']}:{v['member']}".encode())
        for v in claims
        if v["reason"] == "purchase"
    }
    return sorted(k - 2**32 if k >= 2**31 else k for k in keys)


def lock_members(conn: Connection, claims: Sequence[dict[str, Any]]) -> None:
    """On PostgreSQL, lock the members of these purchase claims for this transaction, so that
    concurrent claims of one member count its orders in turn (SQLite has one writer)."""
    if conn.dialect.name == "postgresql" and (keys := member_keys(claims)):
        fetch_all(conn, LOCK_MEMBERS, [keys])


class StaleRules(Exception):
    """The rules changed since the snapshot a claim was priced with was read: the claim's
    transaction is rolled back and the caller prices it again with the rules as they are."""


def ask(plan: Plan, values: dict[str, Any]) -> Ask:
    """What the claim's member facts depend on."""
    return plan.brand_id, values["member"], plan.pass_contract, values["reason"] == "purchase"


def facts(conn: Connection, plan: Plan, values: dict[str, Any]) -> dict[str, Any]:
    """The member's facts for the rules in one statement (`orders`: purchase records claimed
    so far, not counting this claim)."""
    return group_facts(conn, [ask(plan, values)])[0]


def price_claim(
    conn: Connection,
    plan: Plan,
    values: dict[str, Any],
    rules: Sequence[Rule] | None = None,
    version: int | None = None,
    prior: int = 0,
) -> Outcome:
    """What the brand's rules pay for a claim about to be written (its lines not yet written),
    with limits and budgets reserved in the open transaction. `rules`: the brand's active rules
    when already known (read in this transaction otherwise), as of rules `version` (checked in
    this transaction: StaleRules when they changed since). `prior`: the member's purchases
    claimed earlier in this transaction whose records are not written yet (a group)."""
    return price_facts(conn, plan, values, facts(conn, plan, values), rules, version, prior)


def price_facts(
    conn: Connection,
    plan: Plan,
    values: dict[str, Any],
    f: dict[str, Any],
    rules: Sequence[Rule] | None,
    version: int | None,
    prior: int = 0,
) -> Outcome:
    """`price_claim` with the member's facts `f` read already (`claim_sql.group_facts`)."""
    if rules is not None and version is not None and f["rules_version"] != version:
        raise StaleRules(f"rules version {f['rules_version']}, priced with {version}")
    purchase = values["reason"] == "purchase"
    order_n = int(f["orders"]) + prior + 1 if purchase else 0  # this claim counts as one
    tier = None if f["tier"] is None else int(f["tier"])
    ev = event_of(values, order_n, tier, f)
    gate = SqlGate(conn, plan.brand_id, values["member"], ev.at)
    got = active_rules(conn, plan.brand_id) if rules is None else rules
    return price(got, ev, base_rate=plan.base_rate, gate=gate, referrer=f["referred_by"])


def as_record(rid: int, values: dict[str, Any], created_at: int) -> dict[str, Any]:
    """The earn record row a claim wrote, as `claims.record` would read it back."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update({k: v for k, v in values.items() if k in row})
    return row | {"id": rid, "status": "pending", "created_at": created_at}
