"""Staff overview of open enrollment: counts for the pipeline and editions filling up."""

from __future__ import annotations

from sqlalchemy import func, select

from ...courses.models import Edition, EditionStatus
from ...db_types import utcnow
from ...extensions import db
from .models import (
    ACTIVE_WAITLIST_STATUSES,
    Enrollment,
    EnrollmentStatus,
    PaymentStatus,
    WaitlistEntry,
)


# -- admin overview -------------------------------------------------------------------------------
def pipeline_counts() -> dict[str, int]:
    held = db.session.scalar(
        select(func.count(Enrollment.id)).where(Enrollment.status == EnrollmentStatus.HELD)
    )
    due = db.session.scalar(
        select(func.count(Enrollment.id)).where(
            Enrollment.status == EnrollmentStatus.CONFIRMED,
            Enrollment.payment_status == PaymentStatus.DUE,
        )
    )
    waiting = db.session.scalar(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.status.in_(ACTIVE_WAITLIST_STATUSES)
        )
    )
    return {"held": held or 0, "due": due or 0, "waiting": waiting or 0}


def upcoming_editions_with_counts() -> list[tuple[Edition, dict[str, int]]]:
    editions = db.session.scalars(
        select(Edition)
        .where(Edition.status == EditionStatus.SCHEDULED)
        .order_by(Edition.id.desc())
        .limit(200)
    ).all()
    result = []
    for edition in sorted(editions, key=lambda e: (e.starts_at is None, e.starts_at or utcnow())):
        counts = dict(
            db.session.execute(
                select(Enrollment.status, func.coalesce(func.sum(Enrollment.seats), 0))
                .where(Enrollment.edition_id == edition.id)
                .group_by(Enrollment.status)
            ).all()
        )
        waiting = db.session.scalar(
            select(func.count(WaitlistEntry.id)).where(
                WaitlistEntry.edition_id == edition.id,
                WaitlistEntry.status.in_(ACTIVE_WAITLIST_STATUSES),
            )
        )
        result.append(
            (
                edition,
                {
                    "confirmed": int(counts.get(EnrollmentStatus.CONFIRMED, 0)),
                    "held": int(counts.get(EnrollmentStatus.HELD, 0)),
                    "waiting": int(waiting or 0),
                },
            )
        )
    return result
