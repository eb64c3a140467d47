"""Who takes part in an edition's sessions, for invites, reminders, sheets and feeds."""

from __future__ import annotations

from sqlalchemy import select

from ...courses.models import TrainingSession
from ...extensions import db
from ..sessions.participants import Participant
from .models import (
    Enrollment,
    EnrollmentStatus,
)


# -- who takes part -------------------------------------------------------------------------------
def enrollment_participants(session: TrainingSession) -> list[Participant]:
    if session.edition_id is None:
        return []
    rows = db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.edition_id == session.edition_id,
            Enrollment.status == EnrollmentStatus.CONFIRMED,
        )
        .order_by(Enrollment.id)
    )
    return [
        Participant(
            key=f"enrollment:{row.id}",
            email=row.user.email,
            name=row.user.name,
            user_id=row.user_id,
            locale=row.user.locale,
            joined_at=row.confirmed_at,
        )
        for row in rows
    ]


def enrolled_sessions(user) -> list[TrainingSession]:
    """The sessions of editions the user holds a confirmed seat in (their calendar feed)."""
    return list(
        db.session.scalars(
            select(TrainingSession)
            .join(Enrollment, Enrollment.edition_id == TrainingSession.edition_id)
            .where(Enrollment.user_id == user.id, Enrollment.status == EnrollmentStatus.CONFIRMED)
            .order_by(TrainingSession.starts_at)
        )
    )
