"""Completion follows the sessions: after a group's last session ends, decide who completed;
once a completion has settled, mail the certificate and record the qualification."""

from celery import shared_task

from ...extensions import db
from . import completion

BEAT_SCHEDULE = {
    "attendance-run-due-completions": {
        "task": "bookings.run_due_completions",
        "schedule": 5 * 60.0,
    },
}


@shared_task(name="bookings.run_due_completions")
def run_due_completions() -> dict[str, int]:
    """Idempotent: a group decided since its end is skipped, a certificate is mailed once."""
    decided = completion.run_due_completions()
    settled = completion.settle_completions()
    db.session.commit()
    return {"decided": decided, "settled": settled}
