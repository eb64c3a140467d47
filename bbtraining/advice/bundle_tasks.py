"""Periodic work of the advies-strippenkaart: tell the organisation's clients when 80 % of a
bundle is used and 30 days before it expires, each exactly once per bundle.

Exactly once: a notice's flag is set in the same transaction as its outbox rows, on the
bundle's locked row (a second beat running at the same time skips it), and the outbox's dedupe
key refuses a second copy even if a flag were lost.
"""

from datetime import date, timedelta

from celery import shared_task
from celery.schedules import crontab
from sqlalchemy import select

from ..db_types import utcnow
from ..extensions import db
from . import bundle_mail
from .bundle_models import AdviceBundle, BundleState
from .bundles import today

USAGE_NOTICE_PERCENT = 80
EXPIRY_NOTICE_DAYS = 30

BEAT_SCHEDULE = {
    "advice-bundle-notices": {
        "task": "advice.bundle_notices",
        "schedule": crontab(minute=20),  # hourly: an 80 % mail follows the logging soon
    },
}


@shared_task(name="advice.bundle_notices")
def bundle_notices() -> dict[str, int]:
    return send_due_notices()


def _candidates(*conditions):
    return list(
        db.session.scalars(
            select(AdviceBundle)
            .where(AdviceBundle.state == BundleState.ACTIVE, *conditions)
            .order_by(AdviceBundle.id)
            .with_for_update(skip_locked=True)
        )
    )


def send_due_notices(on: date | None = None) -> dict[str, int]:
    """Queue the due notices and commit; returns how many bundles got which notice."""
    on = on or today()
    now = utcnow()
    usage = 0
    for bundle in _candidates(
        AdviceBundle.notice_80_sent_at.is_(None),
        AdviceBundle.minutes_used * 100 >= AdviceBundle.minutes_bought * USAGE_NOTICE_PERCENT,
        AdviceBundle.valid_until >= on,
    ):
        bundle_mail.usage_notice(bundle)
        bundle.notice_80_sent_at = now
        usage += 1
    db.session.commit()
    expiry = 0
    for bundle in _candidates(
        AdviceBundle.notice_expiry_sent_at.is_(None),
        AdviceBundle.valid_until >= on,
        AdviceBundle.valid_until <= on + timedelta(days=EXPIRY_NOTICE_DAYS),
        AdviceBundle.minutes_used < AdviceBundle.minutes_bought,  # nothing left: nothing to lose
    ):
        bundle_mail.expiry_notice(bundle)
        bundle.notice_expiry_sent_at = now
        expiry += 1
    db.session.commit()
    return {"usage": usage, "expiry": expiry}
