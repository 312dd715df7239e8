"""Outgoing mail: SMTP when `smtp_host` is set, else the log and a file in `<data_dir>/mail/`.

The local default lets the demo and a developer's machine work with no mail server: each
message is logged (subject and recipient only) and written whole to a `.eml` file.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from loyalty_ledger.config import Settings
from loyalty_ledger.errors import ConfigError, LedgerError

log = logging.getLogger("mail")
SMTP_TIMEOUT = 15.0


class MailFailed(LedgerError):
    """The mail server refused the message or could not be reached (HTTP 503)."""

    code = "mail_failed"


def _message(
    settings: Settings, to: str, subject: str, text: str, html: str | None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.mail_from, to, subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@loyalty-ledger>"
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def _smtp(settings: Settings, msg: EmailMessage) -> None:
    host, port = settings.smtp_host or "", settings.smtp_port
    ctx = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_tls == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=ctx)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    with smtp:
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=ctx)
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        smtp.send_message(msg)


def _to_file(settings: Settings, msg: EmailMessage) -> Path:
    folder = Path(settings.data_dir) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(msg))
    path.chmod(0o600)
    return path


def send_mail(
    settings: Settings, to: str, subject: str, text: str, html: str | None = None
) -> None:
    """Send one message; MailFailed (with the server's reason) when it cannot be delivered."""
    if "\n" in to or "\r" in to or "\n" in subject or "\r" in subject:
        raise ConfigError("mail headers may not contain line breaks")
    msg = _message(settings, to, subject, text, html)
    if not settings.smtp_host:
        path = _to_file(settings, msg)
        log.warning(
            "mail to %s: %r (no SMTP server set: written to %s)\n%s", to, subject, path, text
        )
        return
    try:
        _smtp(settings, msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailFailed(f"could not send mail to {to}: {type(exc).__name__}: {exc}") from None
    log.info("mail to %s: %r sent via %s", to, subject, settings.smtp_host)
