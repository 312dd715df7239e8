"""The accept path's SQL for one earn claim, in as few statements as the rules allow.

The member's facts the rules read (purchases so far, pass tier, birth month, referrer) come
in one statement; the rules themselves come from `rules_cache` (or are read in the claim's
transaction when none are given). The SQL gate (per-member limits, campaign budgets) is the
rules engine's own, unchanged: it reserves with conditional UPDATEs in the claim's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from loyalty_ledger.store.offchain import EarnRecord, table

from .rules.evaluate import Outcome, price
from .rules.live import Plan, SqlGate, event_of
from .rules.model import Rule
from .rules.store import active_rules

T_EARN = table(EarnRecord)
COLUMNS = tuple(c.name for c in T_EARN.columns)

_PROFILE = (
    "(SELECT tier FROM pass WHERE contract = :pc AND owner = :ml) AS tier, "
    "(SELECT birth_month FROM rule_member WHERE brand_id = :b AND member = :m) AS birth_month, "
    "(SELECT referred_by FROM rule_member WHERE brand_id = :b AND member = :m) AS referred_by"
)
_VERSION = "(SELECT n FROM change_counter WHERE name = 'rules') AS rules_version"
FACTS_ORDER = text(
    "SELECT (SELECT count(*) FROM earn_record WHERE brand_id = :b AND member = :m "
    f"AND reason = 'purchase') AS orders, {_PROFILE}, {_VERSION}"
)
FACTS_ACTION = text(f"SELECT 0 AS orders, {_PROFILE}, {_VERSION}")


class StaleRules(Exception):
    """The rules changed since the snapshot a claim was priced with was read: the claim's
    transaction is rolled back and the caller prices it again with the rules as they are."""


def facts(conn: Connection, plan: Plan, values: dict[str, Any]) -> dict[str, Any]:
    """The member's facts for the rules in one statement (`orders`: purchase records claimed
    so far, not counting this claim)."""
    member = values["member"]
    args = {"b": plan.brand_id, "m": member, "pc": plan.pass_contract.lower(), "ml": member.lower()}
    q = FACTS_ORDER if values["reason"] == "purchase" else FACTS_ACTION
    return dict(conn.execute(q, args).mappings().one())


def price_claim(
    conn: Connection,
    plan: Plan,
    values: dict[str, Any],
    rules: Sequence[Rule] | None = None,
    version: int | None = None,
) -> Outcome:
    """What the brand's rules pay for a claim about to be written (its lines not yet written),
    with limits and budgets reserved in the open transaction. `rules`: the brand's active rules
    when already known (read in this transaction otherwise), as of rules `version` (checked in
    this transaction: StaleRules when they changed since)."""
    f = facts(conn, plan, values)
    if rules is not None and version is not None and f["rules_version"] != version:
        raise StaleRules(f"rules version {f['rules_version']}, priced with {version}")
    purchase = values["reason"] == "purchase"
    order_n = int(f["orders"]) + 1 if purchase else 0  # this claim counts as an order
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
