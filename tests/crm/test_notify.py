"""Notifications through the outbox (SQLite and PostgreSQL): email into a real SMTP server,
signed webhooks into a real HTTP receiver, retries then dead-letter, unsubscribe honoured, and
no message sent twice when the sender is killed mid-send."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from loyalty_ledger.chain.deploy import Program
from loyalty_ledger.config import Settings
from loyalty_ledger.crm import deliver, notify, profiles, webhooks
from loyalty_ledger.crm.facts import member_facts
from loyalty_ledger.errors import InvalidInput
from loyalty_ledger.store.crm_tables import T_NOTIFICATION

from .receivers import Hooks, Inbox, smtp_server, webhook_receiver

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = Program("acme", "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20, 0)


def _addr(i: int) -> str:
    return "0x" + f"{i:040x}"


def people(db: Engine, n: int, *, channel: str = "email", consent: bool = True) -> list[str]:
    out = []
    for i in range(1, n + 1):
        p = profiles.save_profile(
            engine=db, brand_id="acme", member=_addr(i + (0 if consent else 1000)),
            fields={"name": f"Person {i}", "email": f"p{i}@example.org", "channel": channel},
            consent=consent,
        )  # fmt: skip
        out.append(p["member"])
    return out


def send(db: Engine, settings: Settings, key: str = "s1", **kw: str) -> dict[str, int]:
    return notify.enqueue(
        engine=db, settings=settings, brand_id="acme", brand_name="Acme",
        members=member_facts(engine=db, program=PROGRAM).values(), kind="message", key=key,
        subject=kw.get("subject", "Hello {name}"),
        text=kw.get("text", "Dear {name}, you hold {points} {brand} points."),
    )  # fmt: skip


def settings_for(tmp_path: Path, port: int = 1, **kw: object) -> Settings:
    return Settings(
        data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none",
        mail_from="club@acme.example", public_url="http://shop.example", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def states(db: Engine) -> list[str]:
    with db.connect() as c:
        return list(
            c.execute(select(T_NOTIFICATION.c.state).order_by(T_NOTIFICATION.c.id)).scalars()
        )


def test_email_to_a_segment_with_names_and_unsubscribe(db: Engine, tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        s = settings_for(tmp_path, port)
        people(db, 3)
        people(db, 2, consent=False)
        assert send(db, s) == {"queued": 3, "repeated": 0, "skipped": 2}
        assert send(db, s) == {"queued": 0, "repeated": 3, "skipped": 2}  # same send: once
        assert deliver.deliver_due(db, s) == {"sent": 3}
        assert deliver.deliver_due(db, s) == {}
    assert sorted(inbox.to()) == ["p1@example.org", "p2@example.org", "p3@example.org"]
    m = next(m for m in inbox.messages if m["To"] == "p2@example.org")
    assert m["Subject"] == "Hello Person 2" and m["From"] == "club@acme.example"
    text = m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Dear Person 2, you hold 0 Acme points." in text
    link = text.split("Unsubscribe: ")[1].strip()
    assert link.startswith("http://shop.example/unsubscribe?t=")
    assert "Person 2" in m.get_body(("html",)).get_content()  # type: ignore[union-attr]
    brand, member = notify.read_unsubscribe_token(db, link.split("t=")[1])
    assert brand == "acme" and profiles.unsubscribe(engine=db, brand_id=brand, member=member)
    assert send(db, s, key="s2") == {"queued": 2, "repeated": 0, "skipped": 3}
    with pytest.raises(InvalidInput):
        notify.read_unsubscribe_token(db, link.split("t=")[1][:-2] + "AA")
    with pytest.raises(InvalidInput, match="unknown placeholders"):
        send(db, s, key="s3", text="Hi {first_name}")


def test_no_smtp_host_writes_the_mail_to_files(db: Engine, tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, public_url="http://shop.example")
    people(db, 1)
    send(db, s)
    assert deliver.deliver_due(db, s) == {"sent": 1}
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and b"Hello Person 1" in files[0].read_bytes()


def test_signed_webhook_then_failures_retried_and_dead_lettered(db: Engine, tmp_path: Path) -> None:
    hooks = Hooks()
    s = settings_for(tmp_path, notify_backoff=0, notify_max_attempts=3)
    with webhook_receiver(hooks) as url:
        ep = webhooks.add_endpoint(engine=db, brand_id="acme", url=url)
        hooks.secret = ep["secret"]
        people(db, 2, channel="push")
        assert send(db, s)["queued"] == 2
        assert deliver.deliver_due(db, s) == {"sent": 2}
        assert hooks.bad_signatures == 0 and len(hooks.received) == 2
        got = hooks.received[0]
        assert got["kind"] == "message" and got["subject"].startswith("Hello Person")
        assert not webhooks.verify(ep["secret"], b"{}", "t=1,v1=00")
        # A receiver that fails: retried (backoff 0 here), then dead after 3 tries.
        hooks.status = 500
        send(db, s, key="s2")
        for _ in range(3):
            deliver.deliver_due(db, s, now=int(time.time()) + 1)
        assert states(db)[2:] == ["dead", "dead"]
        assert hooks.calls == 2 + 2 * 3
        # A wrong secret is refused by the receiver: counted, and retried like a failure.
        hooks.status, hooks.secret = 200, "not-the-secret"
        send(db, s, key="s3")
        deliver.deliver_due(db, s)
        assert hooks.bad_signatures == 2 and states(db)[4:] == ["queued", "queued"]


def test_backoff_doubles(db: Engine, tmp_path: Path) -> None:
    s = settings_for(tmp_path, port=9, notify_backoff=10, notify_max_attempts=4)  # nothing on 9
    people(db, 1)
    send(db, s)
    t0 = int(time.time())
    waits = []
    for k in range(3):
        now = t0 + sum(waits) + k
        deliver.deliver_due(db, s, now=now)
        with db.connect() as c:
            row = c.execute(select(T_NOTIFICATION)).mappings().one()
        waits.append(row["next_at"] - int(time.time()))
        assert row["state"] == "queued" and row["attempts"] == k + 1
        assert "SMTP server" in row["error"]
    assert [round(w, -1) for w in waits] == [10, 20, 40]


SENDER = """
import sys
from loyalty_ledger.config import Settings
from loyalty_ledger.crm import deliver
from loyalty_ledger.store import make_engine
s = Settings(data_dir=sys.argv[2], smtp_host="127.0.0.1", smtp_port=int(sys.argv[3]),
             smtp_tls="none", public_url="http://shop.example")
print(deliver.deliver_due(make_engine(sys.argv[1]), s), flush=True)
"""


def test_a_sender_killed_mid_send_never_sends_twice(db: Engine, tmp_path: Path) -> None:
    inbox = Inbox(hold_at=3)
    people(db, 6)
    url = db.url.render_as_string(hide_password=False)
    with smtp_server(inbox) as port:
        s = settings_for(tmp_path, port)
        send(db, s)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-c", SENDER, url, str(tmp_path), str(port)], env=env, cwd=ROOT
        )
        try:
            assert inbox.held.wait(60), "the third message never reached the server"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(30)
        assert states(db) == ["sent", "sent", "sending", "queued", "queued", "queued"]
        inbox.hold_at = None
        assert deliver.recover(db) == 0  # a fresh claim may belong to a live sender
        assert deliver.recover(db, now=int(time.time()) + deliver.STALE_SECONDS + 1) == 1
        assert deliver.deliver_due(db, s) == {"sent": 3}
    assert sorted(inbox.to()) == sorted(f"p{i}@example.org" for i in range(1, 7))  # once each
    assert states(db) == ["sent", "sent", "unknown", "sent", "sent", "sent"]
    assert deliver.counts_by_state(db, "acme") == {"sent": 5, "unknown": 1}
