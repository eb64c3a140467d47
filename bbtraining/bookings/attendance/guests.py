"""Guests: participants a trainer adds on the spot to an inhouse session.

`guest_participants` is the participant provider the package registers: guests are on the sheet, in
completion and in evaluation like anyone booked.
"""

from datetime import datetime

from sqlalchemy import delete, select

from ... import audit
from ...auth.models import User, normalise_email
from ...courses.models import TrainingSession
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..sessions.participants import Participant
from .completion import decide_again_if_ended
from .models import AttendanceGuest, AttendanceRecord
from .sheet import sheet_participants


def add_guest(
    session: TrainingSession,
    *,
    name: str,
    email: str,
    role: str | None,
    by: User,
    now: datetime | None = None,
) -> AttendanceGuest:
    now = now or utcnow()
    if session.edition_id is not None:
        raise DomainError(
            _l(
                "Deelnemers toevoegen kan alleen bij inhouse sessies; voor een open editie "
                "schrijft iemand zich in."
            )
        )
    if session.is_cancelled:
        raise DomainError(_l("Deze sessie is geannuleerd; er valt geen aanwezigheid te noteren."))
    name, email = (name or "").strip(), normalise_email(email)
    if not name or not email:
        raise DomainError(_l("Vul een naam en een e-mailadres in."), field="name")
    if any(normalise_email(p.email) == email for p in sheet_participants(session)):
        raise DomainError(
            _l("%(email)s staat al op de lijst van deze sessie.", email=email), field="email"
        )
    guest = AttendanceGuest(
        session_id=session.id,
        name=name,
        email=email,
        role=(role or "").strip() or None,
        added_by_id=by.id,
        created_at=now,
    )
    db.session.add(guest)
    db.session.flush()
    audit.record("attendance.guest_added", guest, actor=by, session_id=session.id)
    decide_again_if_ended(session, now)
    return guest


def remove_guest(
    session: TrainingSession, guest_id: int, *, by: User, now: datetime | None = None
) -> None:
    now = now or utcnow()
    guest = db.session.get(AttendanceGuest, guest_id)
    if guest is None or guest.session_id != session.id:
        raise DomainError(_l("Deze deelnemer staat niet op de lijst van deze sessie."))
    db.session.execute(
        delete(AttendanceRecord).where(
            AttendanceRecord.session_id == session.id,
            AttendanceRecord.participant_key == guest.participant_key,
        )
    )
    audit.record("attendance.guest_removed", guest, actor=by, session_id=session.id)
    db.session.delete(guest)
    db.session.flush()
    decide_again_if_ended(session, now)


def guest_participants(session: TrainingSession) -> list[Participant]:
    return guest_participants_many([session]).get(session.id, [])


def guest_participants_many(sessions: list[TrainingSession]) -> dict[int, list[Participant]]:
    """The guests of each of `sessions`, in two queries."""
    session_ids = [s.id for s in sessions if s.id is not None]
    if not session_ids:
        return {}
    guests = list(
        db.session.scalars(
            select(AttendanceGuest)
            .where(AttendanceGuest.session_id.in_(session_ids))
            .order_by(AttendanceGuest.id)
        )
    )
    if not guests:
        return {}
    accounts = {
        u.email: u
        for u in db.session.scalars(
            select(User).where(
                User.email.in_({g.email for g in guests}), User.email_verified_at.is_not(None)
            )
        )
    }
    found: dict[int, list[Participant]] = {}
    for g in guests:
        found.setdefault(g.session_id, []).append(
            Participant(
                key=g.participant_key,
                email=g.email,
                name=g.name,
                role="participant",
                user_id=accounts[g.email].id if g.email in accounts else None,
                locale=accounts[g.email].locale if g.email in accounts else "nl",
                joined_at=g.created_at,
            )
        )
    return found
