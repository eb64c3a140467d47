"""Sessions after acceptance: staff change, add or cancel a session; a booking is delivered when
its sessions are over, and evaluated after.
"""

from datetime import datetime

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from ...auth.models import User
from ...courses.models import TrainingSession
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..sessions.invites import sync_session_invites
from .drafts import SessionDraft, check_sessions, refuse_trainer_conflicts
from .models import InhouseBooking, InhouseSession, InhouseStatus
from .proposal_models import AddendumStatus


def _booking_session(booking: InhouseBooking, session_id: int) -> TrainingSession:
    for link in booking.session_links:
        if link.session_id == session_id:
            return link.session
    raise DomainError(_l("Deze sessie hoort niet bij deze boeking."))


def change_session(
    booking: InhouseBooking,
    session_id: int,
    *,
    by: User,
    starts_at: datetime,
    ends_at: datetime,
    trainer: User | None,
    location: str,
    online_url: str | None = None,
    note: str = "",
) -> TrainingSession:
    """Staff move a session or change its place or trainer; attendees get an updated invite."""
    if booking.status != InhouseStatus.SCHEDULED:
        raise DomainError(_l("Alleen sessies van een ingeplande boeking kunnen worden gewijzigd."))
    session = _booking_session(booking, session_id)
    if session.is_cancelled:
        raise DomainError(_l("Deze sessie is geannuleerd en kan niet meer worden gewijzigd."))
    draft = SessionDraft(starts_at, ends_at, trainer, location, online_url)
    check_sessions([draft])
    refuse_trainer_conflicts([draft], exclude_session_ids=[session.id])
    moved = (starts_at, ends_at) != (session.starts_at, session.ends_at)
    details = (
        trainer.id != session.trainer_id
        or location.strip() != (session.location or "")
        or ((online_url or "").strip() or None) != session.online_url
    )
    if not moved and not details:
        raise DomainError(_l("Er is niets gewijzigd aan deze sessie."))
    before = format_datetime(session.starts_at, "short")
    session.trainer = trainer
    session.location = location.strip()
    session.online_url = (online_url or "").strip() or None
    note = (note or "").strip()
    if moved:
        session.reschedule(starts_at, ends_at, note=note or None)
    else:
        session.change_details(note=note or None)
    booking.record_event(
        "session_moved",
        by=by,
        note=_(
            "Sessie van %(before)s: nu %(after)s, %(place)s, %(trainer)s. %(note)s",
            before=before,
            after=format_datetime(starts_at, "short"),
            place=session.location,
            trainer=trainer.name,
            note=note,
        ).strip(),
    )
    return session


# After acceptance a session may be added while the booking is still to be given; once given,
# invoiced or cancelled, the sessions are what they are.
SESSION_ADDABLE = frozenset({InhouseStatus.ACCEPTED, InhouseStatus.SCHEDULED})


def _refuse_adding(booking: InhouseBooking) -> None:
    if booking.status in SESSION_ADDABLE:
        return
    if booking.status == InhouseStatus.CANCELLED:
        message = _l("Deze boeking is geannuleerd; er kan geen sessie meer bij.")
    elif booking.status in (InhouseStatus.INVOICED, InhouseStatus.PAID, InhouseStatus.EVALUATED):
        message = _l(
            "Deze boeking is al gefactureerd; er kan geen sessie meer bij. Maak een nieuwe "
            "aanvraag voor een vervolgsessie."
        )
    elif booking.status == InhouseStatus.DELIVERED:
        message = _l(
            "Deze boeking is al gegeven; er kan geen sessie meer bij. Maak een nieuwe aanvraag "
            "voor een vervolgsessie."
        )
    else:
        message = _l(
            "Sessies komen er pas bij als de klant het voorstel heeft geaccepteerd; pas tot dan "
            "het voorstel aan."
        )
    raise DomainError(message)


def add_session(
    booking: InhouseBooking,
    *,
    by: User,
    starts_at: datetime,
    ends_at: datetime,
    trainer: User | None,
    location: str,
    online_url: str | None = None,
    note: str = "",
) -> TrainingSession:
    """Staff add a further session to an accepted booking: the trainer, the client contact and
    the participants get an invitation for it (a new UID); the timeline (and with it the audit
    log) records it."""
    _refuse_adding(booking)
    draft = SessionDraft(starts_at, ends_at, trainer, location, online_url)
    check_sessions([draft])
    refuse_trainer_conflicts([draft])
    note = (note or "").strip()
    session = TrainingSession(
        course=booking.course,
        edition_id=None,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location.strip(),
        online_url=(online_url or "").strip() or None,
        trainer=trainer,
        change_note=note or None,
    )
    db.session.add(session)
    booking.session_links.append(InhouseSession(session=session))
    db.session.flush()
    sync_session_invites(session)
    booking.record_event(
        "session_added",
        by=by,
        note=_(
            "%(when)s, %(place)s, %(trainer)s. %(note)s",
            when=format_datetime(starts_at, "short"),
            place=session.location,
            trainer=trainer.name,
            note=note,
        ).strip(),
    )
    return session


def cancel_session(booking: InhouseBooking, session_id: int, *, by: User, reason: str) -> None:
    if booking.status != InhouseStatus.SCHEDULED:
        raise DomainError(
            _l("Alleen sessies van een ingeplande boeking kunnen worden geannuleerd.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Geef een reden voor de annulering."), field="reason")
    session = _booking_session(booking, session_id)
    if session.is_cancelled:
        raise DomainError(_l("Deze sessie is al geannuleerd."))
    when = format_datetime(session.starts_at, "short")
    session.cancel(note=reason)
    booking.record_event("session_cancelled", by=by, note=f"{when}: {reason}")
    for addendum in booking.addenda:  # its price is no longer asked for
        if addendum.session_id == session.id and addendum.is_open:
            addendum.decide(AddendumStatus.WITHDRAWN, by=by)
            booking.record_event("addendum_withdrawn", by=by, note=addendum.summary)


def mark_delivered(
    booking: InhouseBooking, *, by: User | None = None, now: datetime | None = None
) -> None:
    now = now or utcnow()
    sessions = booking.active_sessions
    if booking.status == InhouseStatus.SCHEDULED:
        if not sessions:
            raise DomainError(
                _l("Alle sessies zijn geannuleerd; annuleer de boeking in plaats daarvan.")
            )
        unfinished = [s for s in sessions if s.ends_at > now]
        if unfinished:
            raise DomainError(
                _l(
                    "Nog niet alle sessies zijn voorbij (de laatste eindigt %(when)s).",
                    when=format_datetime(unfinished[-1].ends_at, "short"),
                )
            )
    booking.move_to(InhouseStatus.DELIVERED, by=by)


def deliver_finished_bookings(now: datetime | None = None) -> int:
    """Scheduled bookings whose sessions have all ended become delivered (beat task)."""
    now = now or utcnow()
    count = 0
    for booking in db.session.scalars(
        select(InhouseBooking).where(InhouseBooking.status == InhouseStatus.SCHEDULED)
    ).all():
        sessions = booking.active_sessions
        if sessions and all(s.ends_at <= now for s in sessions):
            mark_delivered(booking, now=now)
            count += 1
    return count


def mark_evaluated(booking: InhouseBooking, *, by: User, note: str = "") -> None:
    booking.move_to(InhouseStatus.EVALUATED, by=by, note=note)
