"""Periodic job of sessions: reminders before sessions.

It is safe to run twice at once (a second beat, a slow run overlapping the next): every mail
hangs on a UNIQUE row that only one run can insert.
"""

import logging
from datetime import datetime

from celery import shared_task
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from . import reminders
from .reminders import DueReminder

log = logging.getLogger(__name__)

BEAT_SCHEDULE = {
    "bookings-reminders": {"task": "bookings.send_reminders", "schedule": 300.0},
}


@shared_task(name="bookings.send_reminders")
def send_reminders() -> int:
    return send_due_reminders()


def send_due_reminders(now: datetime | None = None) -> int:
    """Send everything that is due now, once; returns how many this run sent."""
    return send_in_batches(reminders.collect_due_reminders(now))


def send_in_batches(due: list[DueReminder], batch_size: int = 200) -> int:
    """Claim and queue the reminders, one transaction per batch; returns how many this call
    sent. It commits per batch rather than once: short transactions keep a concurrent sweep (and
    SQLite's single writer) waiting briefly, and what went out stays claimed if a later batch
    fails."""
    sent = 0
    for start in range(0, len(due), batch_size):
        batch = due[start : start + batch_size]
        try:
            sent += reminders.send_batch(batch)
            db.session.commit()
        except IntegrityError:
            # The outbox already holds a mail with one of these dedupe keys (its claim row was
            # removed by hand?): go one by one so the others still go out.
            db.session.rollback()
            sent += sum(_send_one(reminder) for reminder in batch)
    return sent


def _send_one(reminder: DueReminder) -> int:
    try:
        reminders.send_one(reminder)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("reminder %s already sent, skipped", reminder.dedupe_key)
        return 0
    return 1


@shared_task(name="bookings.noop")
def noop() -> None:
    """Does nothing: bench/reminders.py measures the worker's own task rate with it."""
