"""The sessions of one inhouse booking form one group ("inhouse:<booking id>"): attendance
decides completion over them, evaluation asks once for all of them.

Registered with `sessions.groups` by this package's `__init__`.
"""

from sqlalchemy import select

from ...courses.models import TrainingSession
from ...extensions import db
from ..sessions.groups import GroupResolver, SessionGroup
from .models import InhouseBooking, InhouseSession


def booking_group(booking: InhouseBooking) -> SessionGroup:
    return SessionGroup(f"inhouse:{booking.id}", booking.course, booking.sessions)


def booking_group_of_session(session: TrainingSession) -> SessionGroup | None:
    if session.id is None or session.edition_id is not None:
        return None
    link = db.session.scalar(select(InhouseSession).where(InhouseSession.session_id == session.id))
    return booking_group(link.booking) if link is not None else None


def booking_group_by_id(booking_id: int) -> SessionGroup | None:
    booking = db.session.get(InhouseBooking, booking_id)
    if booking is None or not booking.session_links:
        return None
    return booking_group(booking)


INHOUSE_BOOKINGS = GroupResolver("inhouse", booking_group_of_session, booking_group_by_id)
