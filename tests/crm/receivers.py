"""Real receivers for the notification tests: an in-process SMTP server (aiosmtpd) and an HTTP
webhook receiver that verifies every signature."""

from __future__ import annotations

import asyncio
import email
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage as Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from loyalty_ledger.crm.webhooks import verify


@dataclass
class Inbox:
    """What the SMTP server received; `hold_at` (1-based) makes that message hang."""

    messages: list[Message] = field(default_factory=list)
    hold_at: int | None = None
    held: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        if self.hold_at is not None and len(self.messages) == self.hold_at:
            self.held.set()
            await asyncio.sleep(60)  # the sender is killed while it waits for this answer
        return "250 OK"

    def to(self) -> list[str]:
        return [m["To"] for m in self.messages]


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    """aiosmtpd on a free port of 127.0.0.1; yields the port."""
    with socket.socket() as probe:  # aiosmtpd's start-up self-check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield port
    finally:
        ctl.stop()


@dataclass
class Hooks:
    """What the webhook receiver accepted (verified), and what it refused."""

    secret: str = ""
    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    calls: int = 0


@contextmanager
def webhook_receiver(hooks: Hooks) -> Iterator[str]:
    """An HTTP server on a free port; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hooks.calls += 1
            if not verify(hooks.secret, body, self.headers.get("X-Loyalty-Signature", "")):
                hooks.bad_signatures += 1
                self.send_response(401)
            else:
                if hooks.status == 200:
                    hooks.received.append(json.loads(body))
                self.send_response(hooks.status)
            self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/hook"
    finally:
        srv.shutdown()
        srv.server_close()
