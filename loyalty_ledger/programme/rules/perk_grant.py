"""The perk effect: a rule line that grants a perk gives the member that perk, in the earning's
own SQL transaction, through the perks' own mechanisms: one unit of the perk's stock and one
use of its per-member limit are taken with conditional UPDATEs (as a redemption takes them),
a free redemption records the grant (method `grant`, key `rule:<earning>:<rule>`: once per
earning and rule) and a voucher carries it to the brand's till (`/vouchers/{code}`).

A perk that cannot be granted (unknown, another brand's, switched off, out of its dates, out
of stock, the member's limit reached) is not: the line then says why. A released earning's
grants are undone with it (`store.perk_grants.revoke_grants`)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, text, update

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme.vouchers import CODE_ALPHABET, DEFAULT_VOUCHER_TTL
from loyalty_ledger.store.customers import BrandMemberSetting
from loyalty_ledger.store.offchain import table
from loyalty_ledger.store.perk_grants import GRANT, T_PERK, T_RED, T_USAGE, T_VOUCHER, grant_key

from .model import Line
from .store import T_LINE

T_SETTING = table(BrandMemberSetting)
USE_ROW = text(
    "INSERT INTO perk_usage (perk_id, member, used) VALUES (:p, :m, 0) ON CONFLICT DO NOTHING"
)


def check_perk_effect(engine: Engine, brand_id: str, spec: dict[str, Any]) -> None:
    """A rule granting a perk must name a perk of its brand (InvalidInput, 422, otherwise)."""
    effect = spec.get("effect")
    if not isinstance(effect, dict) or effect.get("type") != "perk":
        return
    pid = effect.get("perk_id")
    if isinstance(pid, bool) or not isinstance(pid, int):
        return  # parse_rule says what is wrong with it
    q = select(T_PERK.c.brand_id).where(T_PERK.c.id == pid)
    with engine.connect() as conn:
        owner = conn.execute(q).scalar()
    if owner != brand_id:
        raise InvalidInput(f"effect.perk_id: no perk {pid} of brand {brand_id}")


def _refused(perk: dict[str, Any] | None, brand_id: str, now: int) -> str | None:
    if perk is None or perk["brand_id"] != brand_id:
        return "not a perk of this brand"
    if not perk["active"]:
        return "switched off"
    if perk["valid_from"] is not None and now < perk["valid_from"]:
        return "not valid yet"
    if perk["valid_until"] is not None and now >= perk["valid_until"]:
        return "no longer valid"
    return None


def _take(conn: Connection, perk: dict[str, Any], member: str) -> str | None:
    """Take one unit of stock and one use of the member's limit (None), or say why not."""
    p = T_PERK.c
    got = conn.execute(
        update(T_PERK)
        .where(p.id == perk["id"], or_(p.total_stock.is_(None), p.redeemed_count < p.total_stock))
        .values(redeemed_count=p.redeemed_count + 1)
    )
    if got.rowcount != 1:
        return "out of stock"
    limit = perk["per_member_limit"]
    if limit is None:
        return None
    conn.execute(USE_ROW, {"p": perk["id"], "m": member.lower()})
    u = T_USAGE.c
    got = conn.execute(
        update(T_USAGE)
        .where(u.perk_id == perk["id"], u.member == member.lower(), u.used < limit)
        .values(used=u.used + 1)
    )
    if got.rowcount == 1:
        return None
    conn.execute(
        update(T_PERK).where(p.id == perk["id"]).values(redeemed_count=p.redeemed_count - 1)
    )
    return f"the member's limit of {limit} reached"


def _voucher(conn: Connection, brand_id: str, perk_id: int, red_id: int, member: str) -> str:
    """The grant's voucher, valid for the brand's voucher time (its code)."""
    ttl = conn.execute(
        select(T_SETTING.c.voucher_ttl).where(T_SETTING.c.brand_id == brand_id)
    ).scalar()
    now = int(time.time())
    for _ in range(10):  # 30^8 codes: a clash is rare, and checked first (no failed INSERT)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if conn.execute(select(T_VOUCHER.c.code).where(T_VOUCHER.c.code == code)).first() is None:
            break
    conn.execute(
        insert(T_VOUCHER).values(
            code=code,
            brand_id=brand_id,
            perk_id=perk_id,
            redemption_id=red_id,
            member=member,
            created_at=now,
            expires_at=now + int(ttl or DEFAULT_VOUCHER_TTL),
        )
    )
    return code


def grant_one(conn: Connection, brand_id: str, earn_id: int, member: str, line: Line) -> str | None:
    """Grant the line's perk to `member` (None), or say why it was not granted."""
    assert line.perk_id is not None
    row = conn.execute(select(T_PERK).where(T_PERK.c.id == line.perk_id)).mappings().first()
    perk = None if row is None else dict(row)
    now = int(time.time())
    why_not = _refused(perk, brand_id, now)
    if why_not is not None or perk is None:
        return why_not
    why_not = _take(conn, perk, member)
    if why_not is not None:
        return why_not
    taken = "stock" if perk["per_member_limit"] is None else "stock,usage"
    res = conn.execute(
        insert(T_RED).values(
            perk_id=perk["id"],
            brand_id=brand_id,
            member=member,
            idem_key=grant_key(earn_id, line.rule_id),
            points=0,
            method=GRANT,
            status="confirmed",
            created_at=now,
            reserved=taken,
        )
    )
    _voucher(conn, brand_id, perk["id"], int(res.inserted_primary_key[0]), member)  # type: ignore[index]
    return None


def grant_perks(
    conn: Connection,
    brand_id: str,
    earn_id: int,
    member: str,
    lines: Sequence[Line],
    beneficiary: str = "member",
) -> None:
    """Grant the perks of an earning's lines for `beneficiary` (written already) to `member`;
    a perk that could not be granted has its line say why."""
    for x in lines:
        if x.perk_id is None or x.beneficiary != beneficiary:
            continue
        why_not = grant_one(conn, brand_id, earn_id, member, x)
        if why_not is not None:
            said = f"perk {x.perk_id} granted"
            why = x.why.replace(said, f"perk {x.perk_id} not granted ({why_not})")[:500]
            conn.execute(
                update(T_LINE)
                .where(T_LINE.c.earn_id == earn_id, T_LINE.c.rule_id == x.rule_id)
                .values(why=why)
            )
