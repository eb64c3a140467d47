"""Beat tasks that keep seats moving without staff: lapsed holds and lapsed offers.

Each item is handled in its own transaction, so one failure (Stripe unreachable, a bug in one
row) never holds up the rest; the next run picks up whatever is left.
"""

import logging

from celery import shared_task

from ...extensions import db

log = logging.getLogger(__name__)

BEAT_SCHEDULE = {
    "enrollment-expire-holds": {"task": "bookings.expire_holds", "schedule": 60.0},
    "waitlist-expire-offers": {"task": "bookings.expire_offers", "schedule": 60.0},
}


@shared_task(name="bookings.expire_holds")
def expire_holds() -> dict[str, int]:
    from . import checkout, payments, seats
    from .models import Enrollment

    outcomes: dict[str, int] = {}
    for enrollment_id in payments.lapsed_hold_ids():
        try:
            enrollment = seats.lock_enrollment(enrollment_id)
            if enrollment is None or enrollment.status != "held":
                db.session.rollback()
                continue
            outcome = checkout.settle_lapsed_hold(db.session.get(Enrollment, enrollment_id))
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("enrollment %s: lapsed hold not settled", enrollment_id)
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@shared_task(name="bookings.expire_offers")
def expire_offers() -> dict[str, int]:
    from . import waitlist
    from .models import WaitlistEntry

    counts = {"lapsed": 0, "offered": 0, "errors": 0}
    for entry_id in waitlist.lapsed_offer_ids():
        try:
            if waitlist.expire_offer(db.session.get(WaitlistEntry, entry_id)):
                counts["lapsed"] += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("waitlist entry %s: lapsed offer not rolled on", entry_id)
            counts["errors"] += 1
    try:
        counts["offered"] = waitlist.offer_free_seats_everywhere()
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("offering free seats failed")
        counts["errors"] += 1
    return counts
