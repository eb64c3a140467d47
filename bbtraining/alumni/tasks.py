"""Periodic work of the alumni pool: expire unanswered requests, remind before profiles lapse."""

from celery import shared_task
from celery.schedules import crontab
from flask import current_app

from ..db_types import utcnow
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..notifications.services import queue_mail
from ..urls import public_url
from . import matches, services

BEAT_SCHEDULE = {
    "alumni-expire-match-requests": {
        "task": "alumni.expire_match_requests",
        "schedule": 15 * 60.0,
    },
    "alumni-confirmation-reminders": {
        "task": "alumni.send_confirmation_reminders",
        "schedule": crontab(hour=9, minute=15),
    },
}


@shared_task(name="alumni.expire_match_requests")
def expire_match_requests() -> int:
    count = matches.expire_due()
    db.session.commit()
    return count


@shared_task(name="alumni.send_confirmation_reminders")
def send_confirmation_reminders() -> int:
    return remind_due_profiles()


def remind_due_profiles() -> int:
    """Mail every published profile whose yearly confirmation lapses soon, once per period."""
    now = utcnow()
    days = current_app.config["ALUMNI_CONFIRM_REMINDER_DAYS"]
    sent = 0
    for profile in services.profiles_due_for_reminder(now, days):
        queue_mail(
            to=profile.user,
            subject=_l("Klopt uw alumniprofiel nog? Bevestig het om vindbaar te blijven"),
            template="alumni/confirm_reminder",
            context={
                "profile": profile,
                "lapses_at": profile.confirmation_expires_at(),
                "link": public_url("alumni.profile_edit"),
            },
            dedupe_key=f"alumni-confirm:{profile.id}:{profile.confirmed_at:%Y%m%d%H%M%S}",
        )
        profile.confirm_reminder_sent_at = now
        sent += 1
    db.session.commit()
    return sent
