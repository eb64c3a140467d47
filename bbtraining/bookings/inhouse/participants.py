"""Who takes part in an inhouse booking: the client's participant list, and the providers that tell
the sessions capability who attends a booking's sessions and which sessions a person attends.
"""

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import or_, select
from sqlalchemy.orm import lazyload, selectinload

from ...auth.models import User, normalise_email
from ...courses.models import TrainingSession
from ...errors import DomainError, NotAllowed
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..sessions.invites import sync_session_invites
from ..sessions.participants import Participant
from .models import (
    PARTICIPANT_EDITABLE_STATUSES,
    InhouseBooking,
    InhouseParticipant,
    InhouseSession,
    InhouseStatus,
)

MAX_PARTICIPANTS = 500


def check_participants_editable(booking: InhouseBooking, by: User) -> None:
    if not booking.is_client_of(by) and not by.is_admin:
        raise NotAllowed(_l("U kunt de deelnemers van deze aanvraag niet wijzigen."))
    if booking.status not in PARTICIPANT_EDITABLE_STATUSES:
        raise DomainError(
            _l(
                "De deelnemerslijst kan niet meer worden gewijzigd bij status ‘%(status)s’.",
                status=booking.status_label,
            )
        )


def _sync_booking_invites(booking: InhouseBooking) -> None:
    if booking.status == InhouseStatus.SCHEDULED:
        db.session.flush()
        for session in booking.active_sessions:
            sync_session_invites(session)


def check_new_participant(
    booking: InhouseBooking, name: str, email: str, *, role: str | None = None, planned: int = 0
) -> tuple[str, str, str | None]:
    """The rule for one new participant, for the form and for a pasted list alike: the cleaned
    name, e-mail address and role, or a DomainError saying what is wrong. `planned` counts the
    participants about to be added before this one (a list being imported)."""
    name = " ".join((name or "").split())
    email = normalise_email(email)
    role = " ".join((role or "").split()) or None
    if not name and not email:
        raise DomainError(_l("Vul naam en e-mailadres van de deelnemer in."), field="name")
    if not name:
        raise DomainError(_l("Vul de naam van de deelnemer in."), field="name")
    if len(name) > 200:
        raise DomainError(_l("Een naam heeft hooguit 200 tekens."), field="name")
    if not email:
        raise DomainError(_l("Vul het e-mailadres van de deelnemer in."), field="email")
    if len(email) > 254 or not _valid_email(email):
        raise DomainError(
            _l("Vul een geldig e-mailadres in, bijvoorbeeld naam@gemeente.nl."), field="email"
        )
    if role and len(role) > 100:
        raise DomainError(_l("Een functie of rol heeft hooguit 100 tekens."), field="role")
    if any(p.email == email for p in booking.participants):
        raise AlreadyListed(_l("%(email)s staat al op de lijst.", email=email), field="email")
    if len(booking.participants) + planned >= MAX_PARTICIPANTS:
        raise DomainError(
            _l("De deelnemerslijst is vol (hooguit %(max)d deelnemers).", max=MAX_PARTICIPANTS)
        )
    return name, email, role


class AlreadyListed(DomainError):
    """The address is on the participant list already (an import skips it)."""


def _valid_email(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def add_participant(
    booking: InhouseBooking, *, by: User, name: str, email: str, role: str | None = None
) -> InhouseParticipant:
    check_participants_editable(booking, by)
    name, email, role = check_new_participant(booking, name, email, role=role)
    participant = InhouseParticipant(name=name, email=email, role=role)
    booking.participants.append(participant)
    booking.record_event("participants_changed", by=by, note=_("%(name)s toegevoegd", name=name))
    _sync_booking_invites(booking)
    return participant


def add_participants(
    booking: InhouseBooking, people: list[tuple[str, str, str | None]], *, by: User
) -> list[InhouseParticipant]:
    """Add a confirmed import at once: one timeline entry and one round of invitations, not one
    per person. Every person passed the same rule as a single participant (`check_new_participant`,
    called again here: the list may have changed since the preview)."""
    check_participants_editable(booking, by)
    added = []
    for name, email, role in people:
        name, email, role = check_new_participant(booking, name, email, role=role)
        participant = InhouseParticipant(name=name, email=email, role=role)
        booking.participants.append(participant)
        added.append(participant)
    if added:
        booking.record_event(
            "participants_changed",
            by=by,
            note=ngettext(
                "%(num)d deelnemer toegevoegd uit een lijst",
                "%(num)d deelnemers toegevoegd uit een lijst",
                len(added),
            ),
        )
        _sync_booking_invites(booking)
    return added


def remove_participant(booking: InhouseBooking, participant_id: int, *, by: User) -> None:
    check_participants_editable(booking, by)
    participant = next((p for p in booking.participants if p.id == participant_id), None)
    if participant is None:
        raise DomainError(_l("Deze deelnemer staat niet op de lijst."))
    booking.participants.remove(participant)
    booking.record_event(
        "participants_changed", by=by, note=_("%(name)s verwijderd", name=participant.name)
    )
    _sync_booking_invites(booking)


def inhouse_session_participants(session: TrainingSession) -> list[Participant]:
    """The client's contact person and participant list take part in the booking's sessions."""
    return inhouse_participants_many([session]).get(session.id, [])


def inhouse_participants_many(sessions: list[TrainingSession]) -> dict[int, list[Participant]]:
    """`inhouse_session_participants` for each of `sessions`, in a fixed number of queries."""
    session_ids = [s.id for s in sessions if s.id is not None and s.edition_id is None]
    if not session_ids:
        return {}
    links = list(
        db.session.scalars(
            select(InhouseSession)
            .where(InhouseSession.session_id.in_(session_ids))
            # The booking's contact and list only, not all that loads with a booking by default.
            .options(
                lazyload(InhouseSession.session),
                selectinload(InhouseSession.booking).options(
                    lazyload("*"), selectinload(InhouseBooking.participants)
                ),
            )
        )
    )
    links = [link for link in links if link.booking.status != InhouseStatus.CANCELLED]
    if not links:
        return {}
    contacts = {normalise_email(link.booking.contact_email) for link in links}
    users = {
        u.email: u
        for u in db.session.scalars(
            select(User).where(User.email.in_(contacts)).options(lazyload("*"))
        )
    }
    by_booking: dict[int, list[Participant]] = {}
    for link in links:
        booking = link.booking
        if booking.id not in by_booking:
            by_booking[booking.id] = _booking_people(
                booking, users.get(normalise_email(booking.contact_email))
            )
    return {link.session_id: list(by_booking[link.booking_id]) for link in links}


def _booking_people(booking: InhouseBooking, contact_user: User | None) -> list[Participant]:
    people = [
        Participant(
            key=f"inhouse:{booking.id}:contact",
            email=booking.contact_email,
            name=booking.contact_name,
            role="client-contact",
            user_id=contact_user.id if contact_user else None,
            locale=contact_user.locale if contact_user else "nl",
            joined_at=booking.accepted_at,
        )
    ]
    for person in booking.participants:
        if person.email == booking.contact_email:
            continue
        people.append(
            Participant(
                key=f"inhouse:{booking.id}:{person.id}",
                email=person.email,
                name=person.name,
                role="participant",
                joined_at=person.created_at,
            )
        )
    return people


def inhouse_sessions_of(user) -> list[TrainingSession]:
    """Sessions of accepted bookings where the user is the contact or on the participant list."""
    booking_ids = select(InhouseParticipant.booking_id).where(
        InhouseParticipant.email == user.email
    )
    return list(
        db.session.scalars(
            select(TrainingSession)
            .join(InhouseSession, InhouseSession.session_id == TrainingSession.id)
            .join(InhouseBooking, InhouseBooking.id == InhouseSession.booking_id)
            .where(
                InhouseBooking.status != InhouseStatus.CANCELLED,
                or_(InhouseBooking.contact_email == user.email, InhouseBooking.id.in_(booking_ids)),
            )
            .order_by(TrainingSession.starts_at)
        )
    )
