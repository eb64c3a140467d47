"""Periodic job of evaluation: requests after a training's last session.

Safe to run twice at once: every request hangs on a UNIQUE row that only one run can insert.
"""

from datetime import datetime

from celery import shared_task
from sqlalchemy.exc import IntegrityError

from ...db_types import utcnow
from ...extensions import db
from . import rounds

BEAT_SCHEDULE = {
    "bookings-evaluations": {"task": "bookings.send_evaluation_requests", "schedule": 900.0},
}


@shared_task(name="bookings.send_evaluation_requests")
def send_evaluation_requests() -> int:
    return send_due_evaluation_requests()


def send_due_evaluation_requests(now: datetime | None = None) -> int:
    """Open a round for every group that finished, and ask those marked present since a round
    opened. Returns the rounds opened.

    Commits each group on its own: a group another run opened first (the UNIQUE group_key, or
    a request's UNIQUE person) rolls back only itself, and the groups before it stay mailed.
    """
    groups = rounds.finished_groups(now or utcnow())
    opened_rounds = rounds.opened_rounds(list(groups))
    opened = 0
    for key, group in groups.items():
        try:
            if key in opened_rounds:
                if rounds.ask_late_attendees(opened_rounds[key], group):
                    db.session.commit()
                continue
            rounds.open_round(group)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another run opened it, or asked them, first
            continue
        opened += 1
    return opened
