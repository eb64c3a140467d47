"""Periodic job of sessions: reminders before sessions.

It is safe to run twice at once (a second beat, a slow run overlapping the next): every mail
hangs on a UNIQUE row that only one run can insert.
"""

from celery import shared_task

BEAT_SCHEDULE = {
    "bookings-reminders": {"task": "bookings.send_reminders", "schedule": 300.0},
}


@shared_task(name="bookings.send_reminders")
def send_reminders() -> int:
    from .reminders import send_due_reminders

    return send_due_reminders()


@shared_task(name="bookings.noop")
def noop() -> None:
    """Does nothing: bench/reminders.py measures the worker's own task rate with it."""
