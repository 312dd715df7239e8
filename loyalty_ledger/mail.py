"""Sending one email: through the SMTP server of the settings, or, with no `smtp_host`, into the
log and a file under `<data_dir>/mail/` (a pilot or a test sees what would have been sent)."""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from .config import Settings
from .errors import LedgerError

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 20.0  # seconds one SMTP conversation may take


class MailFailed(LedgerError):
    """The mail server refused the message or could not be reached (it may be retried)."""

    code = "mail_failed"


def _message(
    settings: Settings, to: str, subject: str, text: str, html: str | None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.mail_from, to, subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@{settings.mail_from.rpartition('@')[2] or 'local'}>"
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def _to_file(settings: Settings, msg: EmailMessage) -> Path:
    folder = Path(settings.data_dir) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msg.as_bytes())
    tmp.replace(path)  # whole files only
    return path


def send_mail(
    settings: Settings, to: str, subject: str, text: str, html: str | None = None
) -> None:
    """Send one email; MailFailed when the server refuses it or cannot be reached."""
    msg = _message(settings, to, subject, text, html)
    if not settings.smtp_host:
        path = _to_file(settings, msg)
        log.info("mail (no LOYALTY_SMTP_HOST) to %s: %r, written to %s", to, subject, path)
        return
    host, port = settings.smtp_host, settings.smtp_port
    try:
        smtp: smtplib.SMTP
        if settings.smtp_tls == "tls":
            ctx = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=ctx)
        else:
            smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
        with smtp:
            if settings.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                smtp.login(settings.smtp_user, password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as err:
        raise MailFailed(f"mail to the SMTP server {host}:{port} failed: {err}") from None
