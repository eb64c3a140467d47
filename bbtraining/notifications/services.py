"""The outbox: services queue mail in their own transaction; a worker delivers it after commit.

Nothing here knows the domain. A domain service calls `queue_mail(...)`; the row is flushed with
the caller's change, and only when that transaction commits is a Celery task enqueued for it.
If the broker is down then, the row stays pending and the periodic sweep enqueues it later.
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
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from ..db_types import utcnow
from ..extensions import db
from .models import OutboxMessage, OutboxStatus, WorkerHeartbeat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


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
    with force_locale(locale):
        subject_text = str(subject)
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
        for row_id in sorted(ids):
            enqueue_delivery(row_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def enqueue_delivery(row_id: int, countdown: float | None = None) -> bool:
    """Hand a row to the broker; False (and the row stays pending) when the broker is down."""
    from .tasks import deliver_outbox_message

    try:
        deliver_outbox_message.apply_async((row_id,), countdown=countdown, retry=False)
    except Exception as exc:  # broker down: the sweep enqueues it again later
        log.warning("outbox %s not enqueued, sweep will retry: %s", row_id, exc)
        return False
    return True


# -- delivery -----------------------------------------------------------------------------------
def _claim(row_id: int) -> bool:
    """Mark the row as ours with one conditional UPDATE, so two workers never both send it."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(
            status=OutboxStatus.SENDING,
            claimed_at=utcnow(),
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def backoff_seconds(attempts: int) -> int:
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


def deliver(row_id: int) -> str:
    """Deliver one row if nobody else has; returns what happened ('sent', 'skipped', 'retry',
    'failed'). Commits its own transactions: it runs in the worker."""
    from .mail import build_message, send

    if not _claim(row_id):
        return "skipped"
    row = db.session.get(OutboxMessage, row_id)
    try:
        send(build_message(row), row)
    except Exception as exc:  # SMTP refused, timed out, disk full: all are worth a retry
        db.session.rollback()
        row = db.session.get(OutboxMessage, row_id)
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            row.status = OutboxStatus.FAILED
            outcome = "failed"
        else:
            row.status = OutboxStatus.PENDING
            row.next_attempt_at = utcnow() + timedelta(seconds=backoff_seconds(row.attempts))
            outcome = "retry"
        db.session.commit()
        log.warning("outbox %s: %s (%s)", row_id, outcome, row.last_error)
        return outcome
    row.status = OutboxStatus.SENT
    row.sent_at = utcnow()
    row.last_error = None
    db.session.commit()
    return "sent"


def due_row_ids(grace_seconds: int | None = None, limit: int = 500) -> list[int]:
    """Rows whose task was lost (broker down, worker crashed) and should be enqueued again."""
    grace = current_app.config["OUTBOX_SWEEP_AFTER"] if grace_seconds is None else grace_seconds
    now = utcnow()
    stuck_before = now - timedelta(minutes=10)
    # A worker that died mid-send leaves 'sending' behind; give it back to the queue.
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < stuck_before
        )
        .values(status=OutboxStatus.PENDING)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= now - timedelta(seconds=grace),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def sweep(grace_seconds: int | None = None) -> int:
    ids = due_row_ids(grace_seconds)
    return sum(1 for row_id in ids if enqueue_delivery(row_id))


def deliver_due_now() -> dict[str, int]:
    """Deliver every pending row in this process (CLI `flask outbox deliver`, tests)."""
    counts: dict[str, int] = {}
    for row_id in due_row_ids(grace_seconds=0, limit=10_000):
        outcome = deliver(row_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def retry(row: OutboxMessage) -> None:
    if row.status in (OutboxStatus.FAILED, OutboxStatus.PENDING):
        from ..audit import record

        record("outbox.retried", row, status=row.status, attempts=row.attempts)
        row.status = OutboxStatus.PENDING
        row.attempts = 0
        row.next_attempt_at = utcnow()
        session_ids = db.session.info.setdefault(_PENDING_KEY, set())
        session_ids.add(row.id)


# -- worker heartbeat ---------------------------------------------------------------------------
def beat_heartbeat(name: str) -> None:
    row = db.session.get(WorkerHeartbeat, name)
    if row is None:
        db.session.add(WorkerHeartbeat(name=name, seen_at=utcnow()))
    else:
        row.seen_at = utcnow()
    db.session.commit()


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
