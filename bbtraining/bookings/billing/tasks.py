"""The daily payment reminders for overdue invoices (rules in `receivables.reminder_due`).

Each invoice is handled in its own transaction, so one failure never holds up the rest; the
mail goes through the outbox with the reminder row, and a second run on the same day finds the
row and sends nothing.
"""

import logging

from celery import shared_task
from celery.schedules import crontab

from ...extensions import db

log = logging.getLogger(__name__)

BEAT_SCHEDULE = {
    # Celery's timezone is Europe/Amsterdam: on working mornings' time, once a day.
    "billing-invoice-reminders": {
        "task": "bookings.invoice_reminders",
        "schedule": crontab(hour=9, minute=0),
    },
}


@shared_task(name="bookings.invoice_reminders")
def send_due_reminders() -> dict[str, int]:
    from ...errors import DomainError
    from .invoices import Invoice
    from .receivables import due_reminder_ids, send_reminder

    counts = {"sent": 0, "skipped": 0, "errors": 0}
    for invoice_id in due_reminder_ids():
        try:
            send_reminder(db.session.get(Invoice, invoice_id))
            db.session.commit()
            counts["sent"] += 1
        except DomainError:  # paid or reminded meanwhile
            db.session.rollback()
            counts["skipped"] += 1
        except Exception:
            db.session.rollback()
            log.exception("invoice %s: payment reminder not sent", invoice_id)
            counts["errors"] += 1
    return counts
