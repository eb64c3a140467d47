"""Turning an outbox row into a MIME message and handing it to SMTP or the local mailbox."""

import base64
import os
import smtplib
import tempfile
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from flask import current_app

from .models import OutboxMessage


def build_message(row: OutboxMessage) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = formataddr((row.to_name or "", row.to_email))
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = row.message_id or make_msgid(domain="bbtraining")
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


def send(msg: EmailMessage, row: OutboxMessage) -> None:
    config = current_app.config
    if config.get("SMTP_HOST"):
        with smtplib.SMTP(
            config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"]
        ) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(msg)
        return
    store_in_mailbox(msg, row.id)


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
