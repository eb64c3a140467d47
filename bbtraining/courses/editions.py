"""Edition rules: schedule an edition, assign trainers, change capacity and details, move or
cancel sessions, cancel or duplicate an edition.

Every function flushes and never commits (the view commits once), raises DomainError with a
Dutch message when a rule refuses, and writes an audit entry for every state change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import update

from .. import audit
from ..auth.models import User
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .models import (
    AMSTERDAM,
    Course,
    Edition,
    EditionStatus,
    TrainingSession,
)
from .signals import (
    edition_cancelled,
    edition_changed,
    edition_link_changed,
    edition_location_changed,
)
from .trainers import Slot, check_slots, check_trainer_roles, ensure_trainers_available


# -- editions ------------------------------------------------------------------------------------
@dataclass
class EditionInput:
    capacity: int
    slots: list[Slot]
    trainers: list[User] = field(default_factory=list)
    location: str | None = None
    online_url: str | None = None
    enrollment_deadline: datetime | None = None
    price_seat: Decimal | None = None
    free_cancellation_days: int = 14
    late_refund_percent: int = 0
    cancellation_policy: str = ""


MAX_CAPACITY = 1000  # far beyond any training room; also keeps the number inside the column


def _check_capacity(capacity: int) -> None:
    if capacity is None or capacity < 1:
        raise DomainError(_l("De capaciteit moet minstens 1 zijn."), field="capacity")
    if capacity > MAX_CAPACITY:
        raise DomainError(
            _l("Een editie heeft hooguit %(n)s plaatsen.", n=MAX_CAPACITY), field="capacity"
        )


def schedule_edition(course: Course, data: EditionInput, *, now: datetime | None = None) -> Edition:
    """A new open edition of the course with one or more sessions (multi-day)."""
    now = now or utcnow()
    if not course.is_open:
        raise DomainError(
            _l(
                "%(title)s wordt alleen inhouse gegeven; edities zijn er voor open inschrijving.",
                title=course.title,
            )
        )
    _check_capacity(data.capacity)
    slots = sorted(data.slots, key=lambda s: s.starts_at)
    check_slots(data.slots, now)
    online_url = clean_online_url(data.online_url)
    if not (data.location or "").strip() and not online_url:
        raise DomainError(_l("Vul een locatie of een online link in."), field="location")
    if data.enrollment_deadline is not None and data.enrollment_deadline > slots[0].starts_at:
        raise DomainError(
            _l("De inschrijfdeadline moet vóór de eerste sessie liggen."),
            field="enrollment_deadline",
        )
    if data.price_seat is not None and data.price_seat < 0:
        raise DomainError(_l("Een prijs kan niet negatief zijn."), field="price_seat")
    if data.free_cancellation_days < 0 or not 0 <= data.late_refund_percent <= 100:
        raise DomainError(_l("Controleer de annuleringsvoorwaarden."))
    check_trainer_roles(data.trainers)
    ensure_trainers_available(data.trainers, slots)

    location = (data.location or "").strip() or None
    edition = Edition(
        course=course,
        capacity=data.capacity,
        seats_taken=0,
        enrollment_deadline=data.enrollment_deadline,
        location=location,
        online_url=online_url,
        price_seat=data.price_seat,
        free_cancellation_days=data.free_cancellation_days,
        late_refund_percent=data.late_refund_percent,
        cancellation_policy=data.cancellation_policy or "",
        status=EditionStatus.SCHEDULED,
        trainers=list(data.trainers),
    )
    lead = data.trainers[0] if data.trainers else None
    edition.sessions = [
        TrainingSession(
            course=course,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            location=location,
            online_url=online_url,
            trainer=lead,
        )
        for slot in slots
    ]
    db.session.add(edition)
    db.session.flush()
    audit.record(
        "edition.scheduled",
        edition,
        course=course.slug,
        capacity=edition.capacity,
        sessions=[[s.starts_at, s.ends_at] for s in edition.sessions],
        trainers=[t.id for t in edition.trainers],
    )
    return edition


def _check_edition_planned(edition: Edition) -> None:
    if edition.status != EditionStatus.SCHEDULED:
        raise DomainError(_l("Deze editie is geannuleerd of afgerond en verandert niet meer."))


def assign_trainers(edition: Edition, new_trainers: Sequence[User]) -> None:
    """Set the edition's trainers; the first leads the sessions that had no trainer of theirs."""
    _check_edition_planned(edition)
    check_trainer_roles(new_trainers)
    current_ids = {t.id for t in edition.trainers}
    added = [t for t in new_trainers if t.id not in current_ids]
    slots = [Slot(s.starts_at, s.ends_at) for s in edition.active_sessions]
    ensure_trainers_available(added, slots, ignore_edition_id=edition.id)
    before = sorted(current_ids)
    edition.trainers = list(new_trainers)
    new_ids = {t.id for t in new_trainers}
    lead = new_trainers[0] if new_trainers else None
    for session in edition.active_sessions:
        if session.trainer_id not in new_ids:
            session.trainer = lead
    db.session.flush()
    audit.record(
        "edition.trainers_assigned", edition, before=before, after=[t.id for t in new_trainers]
    )


def change_capacity(edition: Edition, capacity: int) -> None:
    _check_edition_planned(edition)
    _check_capacity(capacity)
    before = edition.capacity
    db.session.flush()
    # One conditional UPDATE: an enrollment taking a seat at this very moment cannot slip
    # between our check and our write (the CHECK constraint backs this up).
    result = db.session.execute(
        update(Edition)
        .where(Edition.id == edition.id, Edition.seats_taken <= capacity)
        .values(capacity=capacity)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(edition)
    if result.rowcount != 1:
        raise DomainError(
            _l(
                "Er zijn al %(taken)s plaatsen bezet; de capaciteit kan niet lager zijn dan dat.",
                taken=edition.seats_taken,
            ),
            field="capacity",
        )
    audit.record("edition.capacity_changed", edition, before=before, after=capacity)
    if capacity > before:
        edition_changed.send(edition)  # freed seats go to the waiting list


@dataclass
class EditionDetails:
    """What staff may still change on a scheduled edition; prices exclude VAT, None: the
    course's price (price) or no deadline (enrollment_deadline)."""

    location: str | None
    enrollment_deadline: datetime | None
    price_seat: Decimal | None
    online_url: str | None  # None or empty: no online link


MAX_LOCATION_LENGTH = 300  # the column's size
MAX_ONLINE_URL_LENGTH = 500  # the column's size


def clean_online_url(value: str | None) -> str | None:
    """The online link as stored, or a DomainError: participants click it from their mail and
    calendar, so only a complete https address without spaces will do."""
    url = (value or "").strip()
    if not url:
        return None
    if len(url) > MAX_ONLINE_URL_LENGTH:
        raise DomainError(
            _l("Een online link is hooguit %(n)s tekens lang.", n=MAX_ONLINE_URL_LENGTH),
            field="online_url",
        )
    parts = urlsplit(url)
    if (
        parts.scheme.lower() != "https"
        or not parts.hostname
        or "." not in parts.hostname
        or any(c.isspace() or ord(c) < 32 for c in url)
    ):
        raise DomainError(
            _l("Vul een volledige link in, beginnend met https://."), field="online_url"
        )
    return url


MAX_PRICE = Decimal("99999999.99")  # what Numeric(10, 2) holds


def _check_details(edition: Edition, data: EditionDetails, now: datetime) -> None:
    location = (data.location or "").strip()
    online_url = clean_online_url(data.online_url)
    if not location and not online_url:
        raise DomainError(_l("Vul een locatie of een online link in."), field="location")
    if len(location) > MAX_LOCATION_LENGTH:
        raise DomainError(
            _l("Een locatie is hooguit %(n)s tekens lang.", n=MAX_LOCATION_LENGTH),
            field="location",
        )
    price = data.price_seat
    if price is not None and (not price.is_finite() or price < 0):
        raise DomainError(_l("Een prijs kan niet negatief zijn."), field="price_seat")
    if price is not None and price > MAX_PRICE:
        raise DomainError(_l("Dit bedrag is te hoog; controleer het bedrag."), field="price_seat")
    if price is None and edition.course.price_seat is None:
        raise DomainError(
            _l("De training heeft geen prijs per deelnemer; vul een prijs voor deze editie in."),
            field="price_seat",
        )
    deadline = data.enrollment_deadline
    if deadline is None or deadline == edition.enrollment_deadline:
        return
    start = edition.starts_at
    if start is not None and deadline > start:
        raise DomainError(
            _l("De inschrijfdeadline moet vóór de eerste sessie liggen."),
            field="enrollment_deadline",
        )
    if deadline < now and edition.enrollment_open(now):
        raise DomainError(
            _l(
                "De inschrijfdeadline kan niet in het verleden liggen: de inschrijving is nog "
                "open. Kies een moment tussen nu en de eerste sessie."
            ),
            field="enrollment_deadline",
        )


def _plain(value):
    """Amounts as text in the audit log (exact, unlike a float)."""
    return str(value) if isinstance(value, Decimal) else value


def change_edition_details(
    edition: Edition, data: EditionDetails, *, now: datetime | None = None
) -> list[str]:
    """Change the place, online link, enrollment deadline and/or price of a scheduled edition;
    returns what changed ("location", "online_url", "enrollment_deadline", "price_seat").

    A new place or link moves the sessions still to come that had the old one (a session staff
    gave its own keeps it) and bumps their revision once, so every invite is updated once;
    bookings tells the people concerned. A new price is for enrollments from now on: an
    enrollment keeps the price it was made at, and so do its invoices.
    """
    now = now or utcnow()
    _check_edition_planned(edition)
    _check_details(edition, data, now)
    location = (data.location or "").strip() or None
    online_url = clean_online_url(data.online_url)
    changed: list[str] = []
    moves = []  # (attribute, before, after, sessions still to come that had `before`)
    for attr, value in (("location", location), ("online_url", online_url)):
        before = getattr(edition, attr)
        if value != before:
            moved = [
                s
                for s in edition.active_sessions
                if s.starts_at > now and (getattr(s, attr) or None) == before
            ]
            moves.append((attr, before, value, moved))
    notes: dict[int, tuple[TrainingSession, list[str]]] = {}
    for attr, _before, value, moved in moves:
        setattr(edition, attr, value)
        for session in moved:
            setattr(session, attr, value)
    for attr, _before, value, moved in moves:
        if attr == "location":
            note = _l("Nieuwe locatie: %(place)s", place=value or edition.place())
        elif value:
            note = _l("Nieuwe online link: %(url)s", url=value)
        else:
            note = _l("De online link vervalt.")
        for session in moved:
            notes.setdefault(session.id, (session, []))[1].append(str(note))
    # One revision per session, however much changed: each invite is updated once.
    for session, lines in notes.values():
        session.change_details(note=" ".join(lines))
    db.session.flush()
    for attr, before, value, moved in moves:
        audit.record(
            f"edition.{attr}_changed",
            edition,
            before=before,
            after=value,
            sessions=[s.id for s in moved],
        )
        signal = edition_location_changed if attr == "location" else edition_link_changed
        signal.send(edition, before=before, sessions=moved)
        changed.append(attr)
    for attr, action, value in (
        ("enrollment_deadline", "edition.deadline_changed", data.enrollment_deadline),
        ("price_seat", "edition.price_changed", data.price_seat),
    ):
        before = getattr(edition, attr)
        if value != before:
            setattr(edition, attr, value)
            db.session.flush()
            audit.record(action, edition, before=_plain(before), after=_plain(value))
            changed.append(attr)
    if not changed:
        raise DomainError(_l("Er is niets gewijzigd aan deze editie."))
    return changed


def move_session(
    session: TrainingSession,
    slot: Slot,
    *,
    location: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move a session (and/or change its place); bumps its revision so invites get updated."""
    now = now or utcnow()
    if session.is_cancelled:
        raise DomainError(_l("Een geannuleerde sessie kan niet worden verplaatst."))
    if session.edition is not None:
        _check_edition_planned(session.edition)
    if slot.ends_at <= slot.starts_at:
        raise DomainError(_l("De eindtijd moet na de begintijd liggen."), field="end")
    if slot.starts_at < now:
        raise DomainError(_l("De nieuwe tijd ligt in het verleden."), field="day")
    location = (location or "").strip() or session.location
    if (slot.starts_at, slot.ends_at, location) == (
        session.starts_at,
        session.ends_at,
        session.location,
    ):
        raise DomainError(_l("Er is niets veranderd aan deze sessie."))
    if session.edition is not None:
        for other in session.edition.active_sessions:
            if other.id != session.id and slot.overlaps(Slot(other.starts_at, other.ends_at)):
                raise DomainError(
                    _l("Deze tijd overlapt met een andere sessie van dezelfde editie.")
                )
    people = {t.id: t for t in (session.edition.trainers if session.edition else [])}
    if session.trainer is not None:
        people[session.trainer.id] = session.trainer
    ensure_trainers_available(people.values(), [slot], ignore_session_ids=[session.id])
    before = {
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "location": session.location,
    }
    session.reschedule(slot.starts_at, slot.ends_at, note=(note or "").strip() or None)
    session.location = location
    db.session.flush()
    audit.record(
        "session.moved",
        session,
        before=before,
        after={"starts_at": slot.starts_at, "ends_at": slot.ends_at, "location": location},
        revision=session.revision,
        note=session.change_note,
    )


def cancel_session(session: TrainingSession, note: str | None = None) -> None:
    session.cancel((note or "").strip() or None)
    db.session.flush()
    audit.record("session.cancelled", session, revision=session.revision, note=session.change_note)


def cancel_edition(
    edition: Edition, reason: str | None = None, *, by: User | None = None
) -> list[TrainingSession]:
    """The one way to cancel an edition (both staff pages call it): cancel it and its planned
    sessions, refused when it is not planned any more; informing and refunding the
    participants is for bookings, which receives `edition_cancelled` in this transaction."""
    cancelled = edition.cancel((reason or "").strip() or None)
    db.session.flush()
    audit.record(
        "edition.cancelled",
        edition,
        actor=by,
        reason=edition.cancel_reason,
        sessions=[s.id for s in cancelled],
    )
    edition_cancelled.send(edition, by=by, reason=edition.cancel_reason)
    return cancelled


def duplicate_edition(
    edition: Edition, new_first_day: date, *, now: datetime | None = None
) -> Edition:
    """A copy of the edition whose first session falls on new_first_day; every session keeps its
    weekday distance and wall-clock time in Europe/Amsterdam (also across a DST change)."""
    # A cancelled edition took its sessions with it; copying it plans them again.
    sessions = edition.active_sessions or (
        list(edition.sessions) if edition.status == EditionStatus.CANCELLED else []
    )
    if not sessions:
        raise DomainError(_l("Deze editie heeft geen sessies om te kopiëren."))
    shift = new_first_day - sessions[0].local_start.date()
    if shift == timedelta(0):
        raise DomainError(
            _l("Kies een andere startdatum dan die van deze editie."), field="first_day"
        )

    def shifted(moment: datetime) -> datetime:
        local = moment.astimezone(AMSTERDAM)
        return datetime.combine(local.date() + shift, local.time(), tzinfo=AMSTERDAM).astimezone(
            UTC
        )

    data = EditionInput(
        capacity=edition.capacity,
        slots=[Slot(shifted(s.starts_at), shifted(s.ends_at)) for s in sessions],
        trainers=list(edition.trainers),
        location=edition.location,
        online_url=edition.online_url,
        enrollment_deadline=(
            shifted(edition.enrollment_deadline) if edition.enrollment_deadline else None
        ),
        price_seat=edition.price_seat,
        free_cancellation_days=edition.free_cancellation_days,
        late_refund_percent=edition.late_refund_percent,
        cancellation_policy=edition.cancellation_policy,
    )
    copy = schedule_edition(edition.course, data, now=now)
    audit.record("edition.duplicated", copy, source=edition.id, shift_days=shift.days)
    return copy
