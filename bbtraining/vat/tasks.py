"""Periodic work on VAT numbers: ask VIES again about the numbers it could not answer for."""

from celery import shared_task

from ..extensions import db
from .numbers import recheck_pending

BEAT_SCHEDULE = {
    "vat-recheck-pending": {"task": "vat.recheck_pending", "schedule": 60 * 60.0},
}


@shared_task(name="vat.recheck_pending")
def recheck_pending_task() -> int:
    answered = recheck_pending()
    db.session.commit()
    return answered
