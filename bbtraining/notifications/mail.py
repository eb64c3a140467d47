"""Turning an outbox row into a MIME message and handing it to SMTP or the local mailbox."""

import base64
import os
import smtplib
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from flask import current_app

from .models import OutboxMessage


def build_message(row: OutboxMessage) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = formataddr((row.to_name or "", row.to_email))
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at)
    # The same for every attempt: a mail sent twice (a worker died between the SMTP server's 250
    # and our "sent") is recognisable as one message.
    msg["Message-ID"] = row.message_id or f"<outbox-{row.id}@bbtraining>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.text_body)
    if row.html_body:
        msg.add_alternative(row.html_body, subtype="html")
    if row.calendar_ics:
        # Outlook shows an invitation only when this part's method matches METHOD in the body.
        if not row.html_body:
            msg.make_alternative()
        msg.add_alternative(
            row.calendar_ics,
            subtype="calendar",
            params={"method": row.calendar_method or "REQUEST"},
        )
    for attachment in row.attachments or []:
        maintype, _, subtype = attachment["content_type"].partition("/")
        msg.add_attachment(
            base64.b64decode(attachment["data"]),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment["filename"],
        )
    return msg


def send(msg: EmailMessage, row_id: int) -> None:
    if current_app.config.get("SMTP_HOST"):
        send_smtp(msg)
        return
    store_in_mailbox(msg, row_id)


# -- SMTP, one connection per worker thread ----------------------------------------------------
# Connecting (TCP, greeting, EHLO, STARTTLS, AUTH) costs several round trips; a reminder run
# sends thousands of mails, so each worker thread keeps its connection for a while.
# The delivery guarantee does not depend on this: a connection is only reused after a
# successful send, dropped after any error (the outbox then retries the row later, as before),
# and checked with NOOP when it has been idle, so a stale one fails before a message is handed
# over.
_IDLE_PROBE_SECONDS = 5.0
_MAX_IDLE_SECONDS = 60.0
_local = threading.local()


@dataclass
class _Connection:
    key: tuple
    smtp: smtplib.SMTP
    sent: int = 0
    last_used: float = field(default_factory=time.monotonic)


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"])
    try:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
    except BaseException:
        _close(smtp)
        raise
    return smtp


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:  # already gone: nothing to say goodbye to
        smtp.close()


def close_smtp_connection() -> None:
    """Close this thread's kept connection, if any."""
    connection = getattr(_local, "connection", None)
    _local.connection = None
    if connection is not None:
        _close(connection.smtp)


def _usable(connection: "_Connection | None", key: tuple, max_messages: int) -> bool:
    if connection is None or connection.key != key or connection.sent >= max_messages:
        return False
    idle = time.monotonic() - connection.last_used
    if idle > _MAX_IDLE_SECONDS:
        return False
    if idle > _IDLE_PROBE_SECONDS:
        try:
            return connection.smtp.noop()[0] == 250
        except Exception:
            return False
    return True


def send_smtp(msg: EmailMessage) -> None:
    config = current_app.config
    max_messages = int(config.get("SMTP_MAX_MESSAGES_PER_CONNECTION", 100))
    if max_messages <= 1:
        with _connect(config) as smtp:
            smtp.send_message(msg)
        return
    key = (
        config["SMTP_HOST"],
        config["SMTP_PORT"],
        config.get("SMTP_USERNAME"),
        bool(config.get("SMTP_STARTTLS")),
    )
    connection = getattr(_local, "connection", None)
    if not _usable(connection, key, max_messages):
        close_smtp_connection()
        connection = _local.connection = _Connection(key, _connect(config))
    try:
        connection.smtp.send_message(msg)
    except BaseException:
        # Whatever state the session is in now, it is not one to send the next mail in.
        close_smtp_connection()
        raise
    connection.sent += 1
    connection.last_used = time.monotonic()


def mailbox_dir() -> Path:
    path = Path(current_app.config["MAILBOX_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_in_mailbox(msg: EmailMessage, row_id: int) -> Path:
    target = mailbox_dir() / f"{row_id:08d}.eml"
    # Write-then-rename so the mailbox page never shows half a message.
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(msg.as_bytes())
    os.replace(tmp, target)
    return target
