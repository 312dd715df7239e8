"""Member profiles: optional personal data per member and brand, consent, and erasure.

One consent covers both what a brand may see and whether it may send marketing: without it a
brand sees only that a profile exists; the member always sees and edits all of it. Erasing
deletes the profile and the personal parts of the member's notifications (recipient, subject,
text); the ledger, the earn records and every aggregate stay.
"""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any

from sqlalchemy import Engine, delete, insert, or_, select, update

from ..errors import InvalidInput
from ..store.crm_tables import T_ERASURE, T_NOTIFICATION, T_PROFILE
from ..validate import checksum_address, printable_text

CHANNELS = ("email", "sms", "push", "none")
PERSONAL = ("name", "email", "phone", "birthday", "region", "channel")
REQUESTERS = ("member", "brand", "operator")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,185}\.[A-Za-z]{2,63}$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SOURCE = re.compile(r"^[a-z_]{1,32}$")


def _text(value: Any, what: str, limit: int) -> str:
    text = printable_text(value, what).strip()
    if not text or len(text) > limit:
        raise InvalidInput(f"{what} must be 1 to {limit} characters")
    return text


def _birthday(value: Any) -> str:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not date(1900, 1, 1) <= day <= date.today():
        raise InvalidInput("birthday must be a past date YYYY-MM-DD (from 1900)")
    return day.isoformat()


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The personal fields checked and normalised (None clears a field); InvalidInput if bad."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in PERSONAL:
            raise InvalidInput(f"unknown profile field {key!r}; known: {', '.join(PERSONAL)}")
        if value is None:
            out[key] = None
        elif key == "email":
            if not isinstance(value, str) or not _EMAIL.match(value.strip()):
                raise InvalidInput("email must look like name@example.com")
            out[key] = value.strip().lower()
        elif key == "phone":
            phone = re.sub(r"[\s().-]", "", value) if isinstance(value, str) else ""
            if not _PHONE.match(phone):
                raise InvalidInput("phone must be international, like +84 90 123 4567")
            out[key] = phone
        elif key == "birthday":
            out[key] = _birthday(value)
        elif key == "channel":
            if value not in CHANNELS:
                raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")
            out[key] = value
        else:
            out[key] = _text(value, key, 120 if key == "name" else 64)
    if "birthday" in out:
        out["birth_month"] = int(out["birthday"][5:7]) if out["birthday"] else None
    return out


def get_profile(*, engine: Engine, brand_id: str, member: str) -> dict[str, Any] | None:
    """The whole profile (for the member themself), or None."""
    addr = checksum_address(member)
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(T_PROFILE).where(
                    T_PROFILE.c.brand_id == brand_id, T_PROFILE.c.member == addr
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def save_profile(
    *,
    engine: Engine,
    brand_id: str,
    member: str,
    fields: dict[str, Any],
    consent: bool | None = None,
    source: str = "wallet",
    now: int | None = None,
) -> dict[str, Any]:
    """Create or change a profile; a consent change records when and how (`source`)."""
    addr, now = checksum_address(member), int(time.time()) if now is None else now
    values = clean_fields(fields)
    if consent is not None:
        if not _SOURCE.match(source):
            raise InvalidInput("the consent source must be a short lower-case word")
        values |= {"consent": consent, "consent_at": now, "consent_source": source}
        values["unsubscribed_at"] = None if consent else now
    values["updated_at"] = now
    key = (T_PROFILE.c.brand_id == brand_id, T_PROFILE.c.member == addr)
    with engine.begin() as conn:
        if conn.execute(update(T_PROFILE).where(*key).values(**values)).rowcount == 0:
            conn.execute(insert(T_PROFILE).values(brand_id=brand_id, member=addr, **values))
    saved = get_profile(engine=engine, brand_id=brand_id, member=addr)
    assert saved is not None
    return saved


def brand_view(profile: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the brand sees: everything with consent, else only that a profile exists."""
    if profile is None:
        return None
    if profile["consent"]:
        return {k: v for k, v in profile.items() if k != "birth_month"}
    return {
        "brand_id": profile["brand_id"],
        "member": profile["member"],
        "consent": False,
        "hidden": "the member has not consented to share their profile",
    }


def unsubscribe(*, engine: Engine, brand_id: str, member: str, now: int | None = None) -> bool:
    """Withdraw consent (an unsubscribe link); False when there is no profile."""
    now = int(time.time()) if now is None else now
    addr = checksum_address(member)
    with engine.begin() as conn:
        res = conn.execute(
            update(T_PROFILE)
            .where(T_PROFILE.c.brand_id == brand_id, T_PROFILE.c.member == addr)
            .values(
                consent=False, consent_at=now, consent_source="unsubscribe", unsubscribed_at=now
            )
        )
    return res.rowcount == 1


def erase(*, engine: Engine, brand_id: str, member: str, requested_by: str) -> dict[str, int]:
    """Delete the member's personal data with the brand; the ledger and aggregates stay."""
    if requested_by not in REQUESTERS:
        raise InvalidInput(f"requested_by must be one of {', '.join(REQUESTERS)}")
    addr, now = checksum_address(member), int(time.time())
    n = T_NOTIFICATION
    with engine.begin() as conn:
        profiles = conn.execute(
            delete(T_PROFILE).where(T_PROFILE.c.brand_id == brand_id, T_PROFILE.c.member == addr)
        ).rowcount
        scrubbed = conn.execute(
            update(n)
            .where(n.c.brand_id == brand_id, n.c.member == addr)
            .values(recipient=None, subject=None, body=None, error=None)
        ).rowcount
        conn.execute(
            insert(T_ERASURE).values(
                brand_id=brand_id, member=addr, requested_by=requested_by, erased_at=now
            )
        )
    return {"profiles": profiles, "notifications": scrubbed}


def find_members(*, engine: Engine, brand_id: str, query: str, limit: int = 20) -> list[str]:
    """Members of the brand whose consented email or phone matches `query` (exact, normalised)."""
    q = query.strip().lower()
    phone = re.sub(r"[\s().-]", "", q)
    t = T_PROFILE
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.member)
            .where(t.c.brand_id == brand_id, t.c.consent.is_(True))
            .where(or_(t.c.email == q, t.c.phone == phone))
            .order_by(t.c.member)
            .limit(limit)
        ).scalars()
        return list(rows)
