"""`send_mail`: through a real SMTP server (aiosmtpd), or with no server set, to the log and a
file in the data dir (the demo's default); a server that is down is a clear MailFailed."""

from __future__ import annotations

import logging
import stat
from email import message_from_bytes
from pathlib import Path

import pytest

from loyalty_ledger.config import Settings
from loyalty_ledger.errors import ConfigError
from loyalty_ledger.mail import MailFailed, send_mail

from .conftest import Inbox, free_port


def test_smtp_delivers_text_and_html(smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = smtp
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="none",
        mail_from="Shop <shop@example.test>",
        data_dir=tmp_path,
    )
    send_mail(settings, "ann@example.test", "Hello", "plain body", "<p>html body</p>")
    [msg] = [m for m in inbox.messages if m["To"] == "ann@example.test"]
    assert msg["From"] == "Shop <shop@example.test>" and msg["Subject"] == "Hello"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in msg.walk()
        if not p.is_multipart()
    }
    assert parts["text/plain"].strip() == "plain body" and "html body" in parts["text/html"]
    assert not (tmp_path / "mail").exists()


def test_without_a_server_mail_goes_to_the_log_and_a_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "mail")
    send_mail(Settings(data_dir=tmp_path), "bob@example.test", "Your code: 123456", "code 123456")
    [path] = list((tmp_path / "mail").iterdir())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    msg = message_from_bytes(path.read_bytes())
    assert msg["To"] == "bob@example.test" and "123456" in msg.get_payload(decode=True).decode()
    assert (
        "bob@example.test" in caplog.text
        and "code 123456" in caplog.text
        and str(path) in caplog.text
    )


def test_a_server_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=free_port(), smtp_tls="none", data_dir=tmp_path
    )
    with pytest.raises(
        MailFailed, match=r"could not send mail to c@example.test: ConnectionRefusedError"
    ):
        send_mail(settings, "c@example.test", "s", "t")


def test_header_injection_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line breaks"):
        send_mail(Settings(data_dir=tmp_path), "a@example.test\nBcc: x@evil.test", "s", "t")
