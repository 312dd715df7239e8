"""A brand's webhook endpoints and the signature on every delivery.

Each endpoint's signing secret is derived from the server's secret (HMAC-SHA256 of the brand
and endpoint id), so it is never stored; the brand sees it once, when it adds the endpoint. A
delivery carries `X-Loyalty-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
"<t>.<body>")>` and `X-Loyalty-Notification: <id>` (receivers drop repeats by that id).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Engine, insert, select, update

from ..auth.sessions import server_secret
from ..errors import InvalidInput, NotFound
from ..store.crm_tables import T_WEBHOOK

SIGNATURE_TOLERANCE = 300  # seconds a receiver should accept between t and its clock


def endpoint_secret(engine: Engine, brand_id: str, endpoint_id: int) -> str:
    """The signing secret of one endpoint."""
    msg = f"webhook:{brand_id}:{endpoint_id}".encode()
    return hmac.new(server_secret(engine), msg, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, t: int) -> str:
    """The X-Loyalty-Signature value of a body sent at time t."""
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, now: int | None = None) -> bool:
    """What a receiver does: the signature matches and t is within the tolerance."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (ValueError, KeyError):
        return False
    now = int(time.time()) if now is None else now
    if abs(now - t) > SIGNATURE_TOLERANCE:
        return False
    return hmac.compare_digest(sign(secret, body, t), f"t={t},v1={parts.get('v1', '')}")


def add_endpoint(*, engine: Engine, brand_id: str, url: str) -> dict[str, Any]:
    """Register an endpoint; the answer carries its secret (shown this once)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or len(url) > 500:
        raise InvalidInput("a webhook URL is http(s)://host/... (at most 500 characters)")
    with engine.begin() as conn:
        eid = conn.execute(
            insert(T_WEBHOOK).values(
                brand_id=brand_id, url=url, active=True, created_at=int(time.time())
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    return {
        "id": int(eid),
        "url": url,
        "active": True,
        "secret": endpoint_secret(engine, brand_id, int(eid)),
    }


def list_endpoints(*, engine: Engine, brand_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        q = select(T_WEBHOOK).where(T_WEBHOOK.c.brand_id == brand_id).order_by(T_WEBHOOK.c.id)
        return [dict(r) for r in conn.execute(q).mappings()]


def active_endpoint(*, engine: Engine, brand_id: str) -> dict[str, Any] | None:
    """The brand's first active endpoint (where sms and push notifications go), or None."""
    return next((e for e in list_endpoints(engine=engine, brand_id=brand_id) if e["active"]), None)


def disable_endpoint(*, engine: Engine, brand_id: str, endpoint_id: int) -> None:
    with engine.begin() as conn:
        res = conn.execute(
            update(T_WEBHOOK)
            .where(T_WEBHOOK.c.brand_id == brand_id, T_WEBHOOK.c.id == endpoint_id)
            .values(active=False)
        )
    if res.rowcount == 0:
        raise NotFound(f"brand {brand_id} has no webhook endpoint {endpoint_id}")
