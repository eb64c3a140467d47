"""Completion follows the sessions: after a group's last session ends, decide who completed."""

from celery import shared_task

from ..extensions import db
from . import attendance_services

BEAT_SCHEDULE = {
    "attendance-run-due-completions": {
        "task": "bookings.run_due_completions",
        "schedule": 10 * 60.0,
    },
}


@shared_task(name="bookings.run_due_completions")
def run_due_completions() -> int:
    """Idempotent: a group already decided since its end is skipped."""
    decided = attendance_services.run_due_completions()
    db.session.commit()
    return decided
