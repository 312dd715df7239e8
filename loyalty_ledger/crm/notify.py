"""Queueing notifications: one row per member in the outbox table, in one transaction, before
anything is sent (`deliver` sends them). Only members who consented are notified; email goes to
the profile's email, sms and push go to the brand's webhook (its system texts or pushes).

Templates fill `{name}`, `{brand}`, `{points}` and `{unsubscribe_url}`; every message ends with
an unsubscribe link, which withdraws the member's consent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from ..auth.sessions import server_secret
from ..config import Settings, public_url
from ..errors import InvalidInput
from ..store.crm_tables import T_NOTIFICATION
from ..validate import checksum_address
from .facts import Facts
from .webhooks import active_endpoint

PLACEHOLDERS = ("name", "brand", "points", "unsubscribe_url")
_FIELD = re.compile(r"\{([a-z_]*)\}")
KINDS = ("message", "points_expiring", "perk_available", "tier_changed", "birthday")


def check_template(text: str, what: str, limit: int) -> str:
    """A template of at most `limit` characters using only the known placeholders."""
    if not isinstance(text, str) or not text.strip() or len(text) > limit:
        raise InvalidInput(f"{what} must be 1 to {limit} characters")
    bad = sorted({f for f in _FIELD.findall(text) if f not in PLACEHOLDERS})
    if bad:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise InvalidInput(f"{what} uses unknown placeholders {bad}; known: {known}")
    return text


def render(template: str, values: dict[str, str]) -> str:
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def unsubscribe_token(engine: Engine, brand_id: str, member: str) -> str:
    """A token that names the brand and member, signed with the server's secret."""
    raw = f"{brand_id}:{member}".encode()
    mac = hmac.new(server_secret(engine), b"unsub:" + raw, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(raw + b"." + mac).decode().rstrip("=")


def read_unsubscribe_token(engine: Engine, token: str) -> tuple[str, str]:
    """(brand, member) of a genuine token; InvalidInput otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = raw[:-17]
        brand_id, member = body.decode().split(":")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("this unsubscribe link is not valid") from None
    if raw[-17:-16] != b"." or not hmac.compare_digest(
        unsubscribe_token(engine, brand_id, member), token.rstrip("=")
    ):
        raise InvalidInput("this unsubscribe link is not valid")
    return brand_id, checksum_address(member)


def _row(
    engine: Engine,
    settings: Settings,
    f: Facts,
    *,
    brand_id: str,
    brand_name: str,
    kind: str,
    key: str,
    subject: str,
    text: str,
    webhook: str | None,
    now: int,
) -> dict[str, Any] | None:
    p = f.profile or {}
    if not p.get("consent"):
        return None
    if p.get("channel") in ("sms", "push"):
        channel, recipient = "webhook", webhook
    elif p.get("channel") in (None, "email"):
        channel, recipient = "email", p.get("email")
    else:
        return None
    if recipient is None:
        return None
    url = f"{public_url(settings)}/unsubscribe?t={unsubscribe_token(engine, brand_id, f.member)}"
    values = {
        "name": p.get("name") or "member",
        "brand": brand_name,
        "points": str(f.balance),
        "unsubscribe_url": url,
    }
    body = render(text, values)
    if url not in body:
        body += f"\n\nUnsubscribe: {url}"
    return {
        "brand_id": brand_id,
        "member": f.member,
        "kind": kind,
        "channel": channel,
        "dedupe_key": key,
        "recipient": recipient,
        "subject": render(subject, values),
        "body": body,
        "state": "queued",
        "attempts": 0,
        "next_at": now,
        "created_at": now,
    }


def enqueue(
    *,
    engine: Engine,
    settings: Settings,
    brand_id: str,
    brand_name: str,
    members: Iterable[Facts],
    kind: str,
    key: str,
    subject: str,
    text: str,
    now: int | None = None,
    state: str = "queued",
) -> dict[str, int]:
    """Queue one message per consenting, reachable member; `key` + member is each row's dedupe
    key, so enqueueing the same send again (a retry, a trigger's next run) adds nothing.
    `state="skipped"` records the rows without sending them (a trigger's first baseline)."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    subject = check_template(subject, "subject", 200)
    text = check_template(text, "text", 5000)
    now = int(time.time()) if now is None else now
    endpoint = active_endpoint(engine=engine, brand_id=brand_id)
    hook = endpoint["url"] if endpoint else None
    rows, skipped = [], 0
    for f in members:
        row = _row(
            engine, settings, f, brand_id=brand_id, brand_name=brand_name, kind=kind,
            key=f"{key}:{f.member}", subject=subject, text=text, webhook=hook, now=now,
        )  # fmt: skip
        if row is None:
            skipped += 1
        else:
            rows.append(row | {"state": state})
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        queued = 0
        for i in range(0, len(rows), 500):
            stmt = dialect.insert(T_NOTIFICATION).values(rows[i : i + 500])
            stmt = stmt.on_conflict_do_nothing(index_elements=["brand_id", "dedupe_key"])
            queued += len(conn.execute(stmt.returning(T_NOTIFICATION.c.id)).all())
    return {"queued": queued, "repeated": len(rows) - queued, "skipped": skipped}


def member_notifications(*, engine: Engine, brand_id: str, member: str) -> list[dict[str, Any]]:
    """A member's notifications from the brand, newest first."""
    n = T_NOTIFICATION
    q = (
        select(n)
        .where(n.c.brand_id == brand_id, n.c.member == checksum_address(member))
        .where(n.c.state != "skipped")  # a trigger's silent baseline
        .order_by(n.c.id.desc())
        .limit(200)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]
