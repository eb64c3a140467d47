"""Who takes part in an edition's sessions, for invites, reminders, sheets and feeds.

An enrollment without seat rows is its booker, alone ("enrollment:<id>"). A group enrollment is
its named seats, each a participant of its own ("seat:<id>"); the booker takes part only when
they hold one of the seats, and seats not named yet have nobody to invite.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import joinedload, lazyload

from ...auth.models import User
from ...courses.models import TrainingSession
from ...extensions import db
from ..sessions.participants import Participant
from .models import (
    Enrollment,
    EnrollmentSeat,
    EnrollmentStatus,
    SeatStatus,
)


# -- who takes part -------------------------------------------------------------------------------
def enrollment_participants(session: TrainingSession) -> list[Participant]:
    if session.edition_id is None:
        return []
    rows = list(
        db.session.scalars(
            select(Enrollment)
            .where(
                Enrollment.edition_id == session.edition_id,
                Enrollment.status == EnrollmentStatus.CONFIRMED,
            )
            .order_by(Enrollment.id)
            # Only the people: the edition is the session's own (already loaded, found in the
            # identity map if asked for), and nobody's roles matter here.
            .options(
                lazyload(Enrollment.edition), joinedload(Enrollment.user).lazyload(User.role_rows)
            )
        )
    )
    seats: dict[int, list[EnrollmentSeat]] = {}
    if rows:
        for seat in db.session.scalars(
            select(EnrollmentSeat)
            .where(EnrollmentSeat.enrollment_id.in_([row.id for row in rows]))
            .order_by(EnrollmentSeat.enrollment_id, EnrollmentSeat.position, EnrollmentSeat.id)
        ):
            seats.setdefault(seat.enrollment_id, []).append(seat)
    people = []
    for row in rows:
        if row.id not in seats:
            people.append(
                Participant(
                    key=f"enrollment:{row.id}",
                    email=row.user.email,
                    name=row.user.name,
                    user_id=row.user_id,
                    locale=row.user.locale,
                    joined_at=row.confirmed_at,
                )
            )
            continue
        for seat in seats[row.id]:
            if seat.status != SeatStatus.ACTIVE or not seat.is_named:
                continue
            holder = seat.user or (row.user if seat.email == row.user.email else None)
            people.append(
                Participant(
                    key=seat.participant_key,
                    email=seat.email,
                    name=seat.name,
                    user_id=seat.user_id,
                    # A colleague without an account is written to in the booker's language.
                    locale=(holder or row.user).locale,
                    joined_at=max(seat.created_at, row.confirmed_at or seat.created_at),
                )
            )
    return people


def enrolled_sessions(user) -> list[TrainingSession]:
    """The sessions of editions the user takes part in through a confirmed enrollment: their
    own, or a named seat a colleague booked for them (their calendar feed)."""
    own_seat = exists().where(
        EnrollmentSeat.enrollment_id == Enrollment.id,
        EnrollmentSeat.status == SeatStatus.ACTIVE,
        or_(EnrollmentSeat.user_id == user.id, EnrollmentSeat.email == user.email),
    )
    alone = and_(
        Enrollment.user_id == user.id,
        ~exists().where(EnrollmentSeat.enrollment_id == Enrollment.id),
    )
    return list(
        db.session.scalars(
            select(TrainingSession)
            .join(Enrollment, Enrollment.edition_id == TrainingSession.edition_id)
            .where(Enrollment.status == EnrollmentStatus.CONFIRMED, or_(alone, own_seat))
            .order_by(TrainingSession.starts_at)
            .distinct()
        )
    )
