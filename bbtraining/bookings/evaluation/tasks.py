"""Periodic job of evaluation: requests after a training's last session.

Safe to run twice at once: every request hangs on a UNIQUE row that only one run can insert.
"""

from celery import shared_task

BEAT_SCHEDULE = {
    "bookings-evaluations": {"task": "bookings.send_evaluation_requests", "schedule": 900.0},
}


@shared_task(name="bookings.send_evaluation_requests")
def send_evaluation_requests() -> int:
    from .rounds import send_due_evaluation_requests

    return send_due_evaluation_requests()
