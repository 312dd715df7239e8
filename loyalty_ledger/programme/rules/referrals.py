"""Member profiles for the rules: a referral code per member, the link to the member who
referred them (self-referral and loops refused), the birth month; and registration, which
links a referral and pays the welcome bonus (the brand's `action:signup` rules)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.programme.rules.errors import ReferralRefused
from loyalty_ledger.validate import checksum_address

from .live import T_EARN, T_PROFILE, profile

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a till


def _ensure(conn: Connection, brand_id: str, member: str) -> dict[str, Any]:
    row = profile(conn, brand_id, member)
    if row is None:
        conn.execute(
            insert(T_PROFILE).values(brand_id=brand_id, member=member, joined_at=int(time.time()))
        )
        row = profile(conn, brand_id, member)
    assert row is not None
    return row


def _where(brand_id: str, member: str) -> Any:
    return (T_PROFILE.c.brand_id == brand_id) & (T_PROFILE.c.member == member)


def referral_code(*, engine: Engine, brand_id: str, member: str) -> str:
    """The member's referral code in this brand (made on first ask, then kept)."""
    member = checksum_address(member)
    for _attempt in range(5):
        try:
            with engine.begin() as conn:
                row = _ensure(conn, brand_id, member)
                if row["referral_code"]:
                    return str(row["referral_code"])
                code = "".join(secrets.choice(ALPHABET) for _ in range(8))
                conn.execute(
                    update(T_PROFILE).where(_where(brand_id, member)).values(referral_code=code)
                )
                return code
        except IntegrityError:  # the same code drawn twice, or a concurrent first ask
            continue
    raise InvalidInput("could not make a referral code; try again")


def link_referral(conn: Connection, brand_id: str, member: str, code: str) -> str:
    """Link `member` to the owner of `code` (returns the referrer), refusing self-referral,
    loops, a second referrer and members who have bought already."""
    q = select(T_PROFILE.c.member).where(
        T_PROFILE.c.brand_id == brand_id, T_PROFILE.c.referral_code == code.strip().upper()
    )
    referrer = conn.execute(q).scalar()
    if referrer is None:
        raise ReferralRefused(f"no referral code {code!r} in brand {brand_id}")
    if referrer == member:
        raise ReferralRefused("a member cannot refer themselves")
    mine = _ensure(conn, brand_id, member)
    if mine["referred_by"] is not None:
        raise ReferralRefused(f"{member} was referred already (by {mine['referred_by']})")
    bought = select(T_EARN.c.id).where(
        T_EARN.c.brand_id == brand_id, T_EARN.c.member == member, T_EARN.c.reason == "purchase"
    )
    if conn.execute(bought.limit(1)).first() is not None:
        raise ReferralRefused(f"{member} has ordered already: only a new member can be referred")
    seen, up = {member}, referrer
    while up is not None:  # the referrer's own chain may not lead back to the member
        if up in seen:
            raise ReferralRefused("this referral would make a loop")
        seen.add(up)
        up = (profile(conn, brand_id, up) or {}).get("referred_by")
    conn.execute(update(T_PROFILE).where(_where(brand_id, member)).values(referred_by=referrer))
    return str(referrer)


def set_profile(
    *,
    engine: Engine,
    brand_id: str,
    member: str,
    birth_month: int | None = None,
    referral: str | None = None,
) -> dict[str, Any]:
    """Record a member's birth month and/or the referral code they joined with."""
    member = checksum_address(member)
    if birth_month is not None and (
        isinstance(birth_month, bool)
        or not isinstance(birth_month, int)
        or not 1 <= birth_month <= 12
    ):
        raise InvalidInput("birth_month is 1 to 12")
    with engine.begin() as conn:
        _ensure(conn, brand_id, member)
        if birth_month is not None:
            conn.execute(
                update(T_PROFILE).where(_where(brand_id, member)).values(birth_month=birth_month)
            )
        if referral is not None:
            link_referral(conn, brand_id, member, referral)
        return _ensure(conn, brand_id, member)
