"""Sending queued notifications, at most once each: a row is claimed (state `sending`, committed)
before its message leaves, and marked `sent` after. A crash between the two leaves it
`sending`; `recover` turns such rows into `unknown` (shown for review, never sent again).
A failure (the mail server or the webhook refusing) is retried at `next_at` with a doubling
backoff, and dead-lettered (`dead`) after `notify_max_attempts` tries.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine, func, select, update

from ..config import Settings
from ..mail import MailFailed, send_mail
from ..store.crm_tables import T_NOTIFICATION, T_WEBHOOK
from .webhooks import endpoint_secret, sign

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT = 10.0  # seconds a receiver may take to answer
STALE_SECONDS = 120  # a claim older than this belongs to a sender that died
N = T_NOTIFICATION


class DeliveryFailed(Exception):
    """The receiver refused or could not be reached (the row is retried)."""


def _claim(engine: Engine, row_id: int, now: int) -> dict[str, Any] | None:
    """Take one queued row (None when another sender took it first)."""
    with engine.begin() as conn:
        res = conn.execute(
            update(N)
            .where(N.c.id == row_id, N.c.state == "queued")
            .values(state="sending", claimed_at=now, attempts=N.c.attempts + 1)
        )
        if res.rowcount != 1:
            return None
        return dict(conn.execute(select(N).where(N.c.id == row_id)).mappings().one())


def _html(text: str) -> str:
    return "<div>" + html.escape(text).replace("\n", "<br>\n") + "</div>"


def _webhook(engine: Engine, row: dict[str, Any], client: httpx.Client) -> None:
    with engine.connect() as conn:
        ep = conn.execute(
            select(T_WEBHOOK.c.id).where(
                T_WEBHOOK.c.brand_id == row["brand_id"], T_WEBHOOK.c.url == row["recipient"]
            )
        ).first()
    if ep is None:
        raise DeliveryFailed("the webhook endpoint was removed")
    body = json.dumps(
        {k: row[k] for k in ("id", "brand_id", "member", "kind", "subject", "body", "created_at")}
    ).encode()
    sig = sign(endpoint_secret(engine, row["brand_id"], ep[0]), body, int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Loyalty-Signature": sig,
        "X-Loyalty-Notification": str(row["id"]),
    }
    try:
        resp = client.post(row["recipient"], content=body, headers=headers)
    except httpx.HTTPError as err:
        raise DeliveryFailed(f"webhook unreachable: {type(err).__name__}") from None
    if not 200 <= resp.status_code < 300:
        raise DeliveryFailed(f"webhook answered {resp.status_code}")


def _send(engine: Engine, settings: Settings, row: dict[str, Any], client: httpx.Client) -> None:
    if row["channel"] == "email":
        try:
            send_mail(settings, row["recipient"], row["subject"], row["body"], _html(row["body"]))
        except MailFailed as err:
            raise DeliveryFailed(err.message[:300]) from None
    else:
        _webhook(engine, row, client)


def _finish(engine: Engine, settings: Settings, row: dict[str, Any], error: str | None) -> str:
    now = int(time.time())
    if error is None:
        values: dict[str, Any] = {"state": "sent", "sent_at": now, "error": None}
    elif row["attempts"] >= settings.notify_max_attempts:
        values = {"state": "dead", "error": error}
    else:
        delay = settings.notify_backoff * 2 ** (row["attempts"] - 1)
        values = {"state": "queued", "next_at": now + int(delay), "error": error}
    with engine.begin() as conn:
        conn.execute(update(N).where(N.c.id == row["id"], N.c.state == "sending").values(**values))
    return str(values["state"])


def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    limit: int = 200,
    now: int | None = None,
    before_send: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, int]:
    """Send up to `limit` due rows, one claim at a time; counts by outcome."""
    now = int(time.time()) if now is None else now
    with engine.connect() as conn:
        ids = (
            conn.execute(
                select(N.c.id)
                .where(N.c.state == "queued", N.c.next_at <= now)
                .order_by(N.c.next_at, N.c.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    counts: dict[str, int] = {}
    with httpx.Client(timeout=WEBHOOK_TIMEOUT) as client:
        for row_id in ids:
            row = _claim(engine, row_id, now)
            if row is None:
                continue
            if before_send is not None:
                before_send(row)
            try:
                _send(engine, settings, row, client)
                error = None
            except DeliveryFailed as err:
                error = str(err)
            outcome = _finish(engine, settings, row, error)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def recover(engine: Engine, *, now: int | None = None, stale: int = STALE_SECONDS) -> int:
    """Rows claimed by a sender that died mid-send become `unknown` (never sent again)."""
    now = int(time.time()) if now is None else now
    with engine.begin() as conn:
        res = conn.execute(
            update(N)
            .where(N.c.state == "sending", N.c.claimed_at < now - stale)
            .values(state="unknown", error="the sender stopped while sending; not sent again")
        )
    if res.rowcount:
        log.warning("%d notification(s) were being sent when a sender stopped", res.rowcount)
    return int(res.rowcount)


def counts_by_state(engine: Engine, brand_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        q = (
            select(N.c.state, func.count())
            .where(N.c.brand_id == brand_id, N.c.state != "skipped")  # a trigger's baseline
            .group_by(N.c.state)
        )
        return {s: int(c) for s, c in conn.execute(q)}


def deliver_forever(
    engine: Engine,
    settings: Settings,
    stop: threading.Event,
    *,
    poll: float = 1.0,
    periodic: Callable[[], object] | None = None,
    period: float = 300.0,
) -> None:
    """Send due rows until `stop` is set (a daemon thread of the API or the main job); run
    `periodic` (the triggers) every `period` seconds."""
    last = float("-inf")
    while not stop.is_set():
        try:
            if periodic is not None and time.monotonic() - last >= period:
                last = time.monotonic()
                periodic()
            recover(engine)
            sent = deliver_due(engine, settings)
        except Exception:  # the database away: try again next round
            log.exception("notification delivery failed; retrying")
            sent = {}
        if not sent:
            stop.wait(poll)
