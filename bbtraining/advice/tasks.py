"""Periodic work of kennismakingsgesprekken: the reminder the day before, exactly once.

Once, however many beats overlap: a call's reminder is claimed by the same UPDATE that sets
`reminder_sent_at` (WHERE it is still NULL, RETURNING the ids it claimed), in the transaction
that queues the mail. A second sweep finds nothing left to claim; a sweep that rolls back
rolls its claim back with it. A call that moves gets `reminder_sent_at` cleared (the model's
`move_to`) and is reminded again for its new time.
"""

from datetime import datetime, timedelta

from celery import shared_task
from sqlalchemy import select, update

from ..db_types import utcnow
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..notifications.services import queue_mail
from .mail import call_mail_context
from .models import AdviceCall, CallStatus

REMINDER_HOURS_BEFORE = 24

BEAT_SCHEDULE = {
    "advice-call-reminders": {"task": "advice.send_call_reminders", "schedule": 300.0},
}


@shared_task(name="advice.send_call_reminders")
def send_call_reminders() -> int:
    return send_due_call_reminders()


def due_call_ids(now: datetime) -> list[int]:
    """Booked calls starting within a day that were booked before the day-before moment (who
    books a call for tomorrow just got the confirmation) and have had no reminder."""
    moment = timedelta(hours=REMINDER_HOURS_BEFORE)
    rows = db.session.execute(
        select(AdviceCall.id, AdviceCall.starts_at, AdviceCall.created_at).where(
            AdviceCall.status == CallStatus.BOOKED.value,
            AdviceCall.reminder_sent_at.is_(None),
            AdviceCall.starts_at > now,
            AdviceCall.starts_at <= now + moment,
        )
    )
    return [row.id for row in rows if row.created_at <= row.starts_at - moment]


def send_due_call_reminders(now: datetime | None = None) -> int:
    """Claim and mail every due reminder; commits; returns how many this run sent."""
    now = now or utcnow()
    ids = due_call_ids(now)
    if not ids:
        return 0
    claimed = list(
        db.session.scalars(
            update(AdviceCall)
            .where(
                AdviceCall.id.in_(ids),
                AdviceCall.reminder_sent_at.is_(None),
                AdviceCall.status == CallStatus.BOOKED.value,
            )
            .values(reminder_sent_at=now)
            .returning(AdviceCall.id)
            .execution_options(synchronize_session=False)
        )
    )
    for call in db.session.scalars(select(AdviceCall).where(AdviceCall.id.in_(claimed))):
        person = call.requester
        queue_mail(
            to=person,
            subject=_l("Herinnering: morgen uw kennismakingsgesprek"),
            template="advice/call_reminder",
            context=call_mail_context(call, person, for_advisor=False),
            dedupe_key=f"advice-reminder:{call.id}:{call.starts_at:%Y%m%dT%H%M}",
        )
    db.session.commit()
    return len(claimed)
