"""The outbox: services queue mail in their own transaction; a worker delivers it after commit.

Nothing here knows the domain. A domain service calls `queue_mail(...)`; the row is flushed with
the caller's change, and only when that transaction commits is a Celery task enqueued for it.
If the broker is down then, the row stays pending and the periodic sweep enqueues it later.
Nothing here commits: delivery, the sweep and the heartbeat run in the worker (`tasks`).
"""

import base64
import logging
from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import TemplateNotFound
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from ..db_types import utcnow
from ..extensions import babel_locale, db
from .models import OutboxMessage, OutboxStatus, WorkerHeartbeat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


SUBJECT_MAX = 300  # OutboxMessage.subject


def one_line(text: str, limit: int) -> str:
    """A header value: what users typed into a title or name may hold line breaks, which a mail
    header must not (the mail would be refused at delivery, or read as a second header)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def queue_mail(
    *,
    to: Any,
    subject: Any,
    template: str,
    context: dict[str, Any] | None = None,
    attachments: tuple[Attachment, ...] | list[Attachment] = (),
    calendar_ics: bytes | str | None = None,
    calendar_method: str | None = None,
    dedupe_key: str | None = None,
    locale: str | None = None,
) -> OutboxMessage:
    """Render `templates/emails/<template>.txt` (and `.html` when present) and queue it.

    `to` is a user (anything with `email`, `name`, `locale`) or an address string.
    """
    if isinstance(to, str):
        to_email, to_name, to_locale = to, None, None
    else:
        to_email, to_name, to_locale = to.email, to.name, getattr(to, "locale", None)
    locale = locale or to_locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    context = {**(context or {}), "recipient_name": to_name}
    with force_locale(babel_locale(locale)):
        subject_text = one_line(str(subject), SUBJECT_MAX)
        context["subject"] = subject_text
        text_body = render_template(f"emails/{template}.txt", **context)
        try:
            html_body = render_template(f"emails/{template}.html", **context)
        except TemplateNotFound:
            html_body = render_template("emails/_auto.html", text_body=text_body, **context)
    if isinstance(calendar_ics, bytes):
        calendar_ics = calendar_ics.decode("utf-8")
    row = OutboxMessage(
        to_email=to_email,
        to_name=to_name,
        subject=subject_text,
        text_body=text_body,
        html_body=html_body,
        attachments=[
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in attachments
        ],
        calendar_ics=calendar_ics,
        calendar_method=calendar_method,
        dedupe_key=dedupe_key,
        message_id=make_msgid(domain="bbtraining"),
    )
    db.session.add(row)
    return row


# -- enqueue after commit -----------------------------------------------------------------------
_PENDING_KEY = "outbox_pending_ids"


@event.listens_for(Session, "after_flush")
def _remember_new_rows(session: Session, _flush_context) -> None:
    for obj in session.new:
        if isinstance(obj, OutboxMessage):
            session.info.setdefault(_PENDING_KEY, set()).add(obj.id)


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    ids = session.info.pop(_PENDING_KEY, None)
    if ids and current_app.config.get("OUTBOX_AUTO_ENQUEUE", True):
        enqueue_rows(sorted(ids))


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def enqueue_delivery(row_id: int, countdown: float | None = None) -> bool:
    """Hand a row to the broker; False (and the row stays pending) when the broker is down."""
    # The Celery app of *this* Flask app: shared_task proxies follow whichever app was made last.
    celery = current_app.extensions["celery"]
    try:
        celery.send_task("notifications.deliver", (row_id,), countdown=countdown, retry=False)
    except Exception as exc:  # broker down: the sweep enqueues it again later
        log.warning("outbox %s not enqueued, sweep will retry: %s", row_id, exc)
        return False
    return True


def enqueue_rows(row_ids: list[int]) -> int:
    """Hand rows to the broker, up to OUTBOX_BATCH_SIZE per task; returns how many went.

    One task per batch saves the broker and the worker a round per mail (a reminder run queues
    thousands at once). When the broker refuses one batch we stop: each attempt waits for the
    connect timeout, and the sweep hands over whatever is still pending later.
    """
    if len(row_ids) == 1:
        return int(enqueue_delivery(row_ids[0]))
    # The Celery app of *this* Flask app: shared_task proxies follow whichever app was made last.
    celery = current_app.extensions["celery"]
    size = max(int(current_app.config.get("OUTBOX_BATCH_SIZE", 25)), 1)
    handed = 0
    for start in range(0, len(row_ids), size):
        batch = row_ids[start : start + size]
        try:
            celery.send_task("notifications.deliver_batch", (batch,), retry=False)
        except Exception as exc:  # broker down: the sweep enqueues them again later
            log.warning(
                "outbox: %s rows not enqueued, sweep will retry: %s", len(row_ids) - handed, exc
            )
            break
        handed += len(batch)
    return handed


def retry(row: OutboxMessage) -> None:
    if row.status in (OutboxStatus.FAILED, OutboxStatus.PENDING):
        from ..audit import record

        record("outbox.retried", row, status=row.status, attempts=row.attempts)
        row.status = OutboxStatus.PENDING
        row.attempts = 0
        row.next_attempt_at = utcnow()
        session_ids = db.session.info.setdefault(_PENDING_KEY, set())
        session_ids.add(row.id)


def worker_alive() -> bool:
    max_age = timedelta(seconds=current_app.config["WORKER_HEARTBEAT_MAX_AGE"])
    newest = db.session.scalar(
        select(WorkerHeartbeat.seen_at).order_by(WorkerHeartbeat.seen_at.desc()).limit(1)
    )
    return newest is not None and newest >= utcnow() - max_age


def pending_count() -> int:
    from sqlalchemy import func

    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            or_(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.status == OutboxStatus.SENDING,
            )
        )
    )
