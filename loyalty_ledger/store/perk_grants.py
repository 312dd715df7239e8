"""Perks granted by earning rules, in SQL: each is a free redemption (method `grant`, key
`rule:<earning id>:<rule id>`, so at most one per earning and rule) with its voucher. When the
earning is released (its transaction failed), its grants go too: the voucher and the
redemption are deleted and the perk's stock and the member's use are given back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, update

from .customers import Voucher
from .offchain import EarnRecord, PerkRow, PerkUsage, Redemption, table

T_RED, T_VOUCHER, T_PERK = table(Redemption), table(Voucher), table(PerkRow)
T_USAGE, T_EARN = table(PerkUsage), table(EarnRecord)
GRANT = "grant"


def grant_key(earn_id: int, rule_id: str) -> str:
    """The redemption key of the perk a rule granted with an earning."""
    return f"rule:{earn_id}:{rule_id}"


def revoke_grants(conn: Connection, perk_lines: Sequence[dict[str, Any]]) -> None:
    """Undo the perks granted with these lines (of earnings about to be released)."""
    if not perk_lines:
        return
    ids = sorted({int(x["earn_id"]) for x in perk_lines})
    q = select(T_EARN.c.id, T_EARN.c.member).where(T_EARN.c.id.in_(ids))
    members = {int(i): str(m) for i, m in conn.execute(q)}
    for x in perk_lines:
        member = members.get(int(x["earn_id"]))
        if member is None:
            continue
        q = select(T_RED).where(
            T_RED.c.member == member,
            T_RED.c.idem_key == grant_key(int(x["earn_id"]), x["rule_id"]),
            T_RED.c.method == GRANT,
        )
        red = conn.execute(q).mappings().first()
        if red is None:
            continue  # the rule's perk was not granted (out of stock, limit reached ...)
        taken = (red["reserved"] or "").split(",")
        if "stock" in taken:
            conn.execute(
                update(T_PERK)
                .where(T_PERK.c.id == red["perk_id"])
                .values(redeemed_count=T_PERK.c.redeemed_count - 1)
            )
        if "usage" in taken:
            conn.execute(
                update(T_USAGE)
                .where(T_USAGE.c.perk_id == red["perk_id"], T_USAGE.c.member == member.lower())
                .values(used=T_USAGE.c.used - 1)
            )
        conn.execute(delete(T_VOUCHER).where(T_VOUCHER.c.redemption_id == red["id"]))
        conn.execute(delete(T_RED).where(T_RED.c.id == red["id"]))
