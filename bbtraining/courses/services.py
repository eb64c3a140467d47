"""Catalog operations: the rules for courses, editions and sessions.

Every function flushes and never commits (the view commits once), raises DomainError with a
Dutch message when a rule refuses, and writes an audit entry for every state change. The query
helpers at the bottom are pure reads for the public catalog.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, exists, func, or_, select, update

from .. import audit
from ..auth.models import Role, User, UserRole
from ..db_types import utcnow
from ..errors import DomainError
from ..extensions import db
from .models import (
    AMSTERDAM,
    AUDIENCE_LABELS,
    COURSE_KIND_LABELS,
    DELIVERY_LABELS,
    PHASE_LABELS,
    Audience,
    Course,
    CourseKind,
    CoursePhase,
    Delivery,
    Edition,
    EditionStatus,
    Phase,
    SessionStatus,
    TrainingSession,
    edition_trainer,
    fold_text,
    price_missing_message,
)
from .signals import edition_changed, edition_location_changed

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG_LENGTH = 120


# -- courses -------------------------------------------------------------------------------------
@dataclass
class CourseInput:
    """What an editor fills in for a course; prices exclude VAT."""

    title: str
    kind: str
    audience: str
    delivery: str
    phases: Sequence[str]
    summary: str = ""
    description: str = ""
    learning_goals: str = ""
    duration_minutes: int = 180
    session_count: int = 1
    price_inhouse: Decimal | None = None
    price_seat: Decimal | None = None
    vat_rate: Decimal = Decimal("21.00")
    max_group_size: int = 20
    qualifies_for_alumni: bool = False
    completion_min_percent: int = 100
    slug: str | None = None  # derived from the title when empty


def slugify(text: str) -> str:
    ascii_text = (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    )
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:MAX_SLUG_LENGTH].strip("-")


def _slug_taken(slug: str, course: Course | None = None) -> bool:
    query = select(Course.id).where(Course.slug == slug)
    if course is not None and course.id is not None:
        query = query.where(Course.id != course.id)
    return db.session.scalar(query) is not None


def _free_slug(title: str) -> str:
    base = slugify(title) or "training"
    slug, n = base, 2
    while _slug_taken(slug):
        suffix = f"-{n}"
        slug = base[: MAX_SLUG_LENGTH - len(suffix)] + suffix
        n += 1
    return slug


def _check_slug(slug: str, course: Course | None = None) -> None:
    if not SLUG_PATTERN.match(slug) or len(slug) > MAX_SLUG_LENGTH:
        raise DomainError(
            _l(
                "Een webadres bestaat uit kleine letters, cijfers en streepjes, "
                "bijvoorbeeld masterclass-communicatie."
            ),
            field="slug",
        )
    if _slug_taken(slug, course):
        raise DomainError(
            _l("Er bestaat al een training met het webadres %(slug)s.", slug=slug), field="slug"
        )


def _check_course_input(data: CourseInput) -> None:
    if not data.title.strip():
        raise DomainError(_l("Geef de training een titel."), field="title")
    checks = (
        (CourseKind, data.kind, "kind", _l("Kies een bestaande soort training.")),
        (Audience, data.audience, "audience", _l("Kies een bestaande doelgroep.")),
        (Delivery, data.delivery, "delivery", _l("Kies inhouse, open of beide.")),
    )
    for enum, value, name, message in checks:
        if value not in {e.value for e in enum}:
            raise DomainError(message, field=name)
    if not data.phases or any(p not in {e.value for e in Phase} for p in data.phases):
        raise DomainError(_l("Kies minstens één fase."), field="phases")
    for value, name in ((data.price_inhouse, "price_inhouse"), (data.price_seat, "price_seat")):
        if value is not None and value < 0:
            raise DomainError(_l("Een prijs kan niet negatief zijn."), field=name)
    if not (Decimal(0) <= data.vat_rate <= Decimal(100)):
        raise DomainError(_l("Het btw-tarief ligt tussen 0 en 100 procent."), field="vat_rate")
    if data.max_group_size < 1:
        raise DomainError(
            _l("De maximale groepsgrootte moet minstens 1 zijn."), field="max_group_size"
        )
    if data.duration_minutes < 1 or data.session_count < 1:
        raise DomainError(_l("Duur en aantal sessies moeten minstens 1 zijn."))
    if not 1 <= data.completion_min_percent <= 100:
        raise DomainError(
            _l("Het aanwezigheidspercentage ligt tussen 1 en 100."), field="completion_min_percent"
        )


_COURSE_FIELDS = (
    "title",
    "kind",
    "audience",
    "delivery",
    "summary",
    "description",
    "learning_goals",
    "duration_minutes",
    "session_count",
    "price_inhouse",
    "price_seat",
    "vat_rate",
    "max_group_size",
    "qualifies_for_alumni",
    "completion_min_percent",
)


def create_course(data: CourseInput) -> Course:
    """A new course, unpublished until an editor publishes it."""
    _check_course_input(data)
    if data.slug:
        _check_slug(data.slug)
        slug = data.slug
    else:
        slug = _free_slug(data.title)
    course = Course(slug=slug, published=False)
    for name in _COURSE_FIELDS:
        setattr(course, name, getattr(data, name))
    course.title = data.title.strip()
    course.phases = data.phases
    db.session.add(course)
    db.session.flush()
    audit.record("course.created", course, slug=course.slug, title=course.title)
    return course


def update_course(course: Course, data: CourseInput) -> Course:
    _check_course_input(data)
    if data.slug and data.slug != course.slug:
        if course.published:
            raise DomainError(
                _l(
                    "Het webadres van een gepubliceerde training blijft gelijk, want links "
                    "ernaar staan in mails en op intranetten. Zet de training eerst offline."
                ),
                field="slug",
            )
        _check_slug(data.slug, course)
    if (
        Delivery(data.delivery) == Delivery.INHOUSE
        and course.is_open
        and _has_planned_editions(course)
    ):
        raise DomainError(
            _l(
                "Deze training heeft geplande edities met open inschrijving. Annuleer die eerst "
                "of houd open inschrijving aan."
            ),
            field="delivery",
        )
    before = {name: getattr(course, name) for name in _COURSE_FIELDS}
    before["phases"] = course.phases
    before["slug"] = course.slug
    for name in _COURSE_FIELDS:
        setattr(course, name, getattr(data, name))
    course.title = data.title.strip()
    course.phases = data.phases
    if data.slug:
        course.slug = data.slug
    if course.published and course.missing_prices():
        raise DomainError(price_missing_message(course))
    changed = {
        name: [before[name], getattr(course, name)]
        for name in before
        if before[name] != getattr(course, name)
    }
    db.session.flush()
    audit.record("course.updated", course, changes=changed)
    return course


def _has_planned_editions(course: Course) -> bool:
    return (
        db.session.scalar(
            select(Edition.id).where(
                Edition.course_id == course.id, Edition.status == EditionStatus.SCHEDULED
            )
        )
        is not None
    )


def publish_course(course: Course) -> None:
    course.publish()
    db.session.flush()
    audit.record("course.published", course)


def unpublish_course(course: Course) -> None:
    course.unpublish()
    db.session.flush()
    audit.record("course.unpublished", course)


# -- sessions, trainers, double booking ----------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """A session's time: timezone-aware start and end."""

    starts_at: datetime
    ends_at: datetime

    @classmethod
    def local(cls, day: date, start: time, end: time) -> Slot:
        """From a date and wall-clock times in Europe/Amsterdam, as staff enter them."""
        return cls(
            datetime.combine(day, start, tzinfo=AMSTERDAM).astimezone(UTC),
            datetime.combine(day, end, tzinfo=AMSTERDAM).astimezone(UTC),
        )

    def overlaps(self, other: Slot) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def _when(moment: datetime) -> str:
    return format_datetime(moment, "d MMMM yyyy HH:mm")


def _check_slots(slots: Sequence[Slot], now: datetime) -> None:
    if not slots:
        raise DomainError(_l("Plan minstens één sessie met een datum, begin- en eindtijd."))
    for number, slot in enumerate(slots, start=1):
        if slot.ends_at <= slot.starts_at:
            raise DomainError(
                _l("Sessie %(n)s: de eindtijd moet na de begintijd liggen.", n=number)
            )
        if slot.starts_at < now:
            raise DomainError(_l("Sessie %(n)s ligt in het verleden.", n=number))
    ordered = sorted(enumerate(slots, start=1), key=lambda item: item[1].starts_at)
    for (n_a, a), (n_b, b) in zip(ordered, ordered[1:], strict=False):
        if a.overlaps(b):
            raise DomainError(
                _l(
                    "Sessie %(a)s en sessie %(b)s overlappen elkaar.",
                    a=min(n_a, n_b),
                    b=max(n_a, n_b),
                )
            )


def _check_trainer_roles(trainers: Iterable[User]) -> None:
    for trainer in trainers:
        if not trainer.is_trainer or not trainer.is_active:
            raise DomainError(
                _l("%(name)s is geen actieve trainer.", name=trainer.name), field="trainers"
            )


def trainer_sessions_query(trainer: User) -> Select:
    """Every planned session the trainer gives: as the session's trainer (inhouse or edition) or
    as a trainer of a planned edition."""
    editions_of_trainer = select(edition_trainer.c.edition_id).where(
        edition_trainer.c.user_id == trainer.id
    )
    return (
        select(TrainingSession)
        .outerjoin(Edition, TrainingSession.edition_id == Edition.id)
        .where(
            TrainingSession.status == SessionStatus.SCHEDULED,
            or_(Edition.id.is_(None), Edition.status == EditionStatus.SCHEDULED),
            or_(
                TrainingSession.trainer_id == trainer.id,
                TrainingSession.edition_id.in_(editions_of_trainer),
            ),
        )
        .order_by(TrainingSession.starts_at)
    )


def trainer_conflicts(
    trainer: User,
    slots: Iterable[Slot],
    *,
    ignore_session_ids: Iterable[int] = (),
    ignore_edition_id: int | None = None,
) -> list[TrainingSession]:
    """The trainer's planned sessions that overlap any of the slots."""
    slots = list(slots)
    if not slots:
        return []
    query = trainer_sessions_query(trainer).where(
        or_(
            *(
                and_(TrainingSession.starts_at < s.ends_at, TrainingSession.ends_at > s.starts_at)
                for s in slots
            )
        )
    )
    ignored = [i for i in ignore_session_ids if i is not None]
    if ignored:
        query = query.where(TrainingSession.id.not_in(ignored))
    if ignore_edition_id is not None:
        query = query.where(
            or_(
                TrainingSession.edition_id.is_(None),
                TrainingSession.edition_id != ignore_edition_id,
            )
        )
    return list(db.session.scalars(query).unique())


def ensure_trainers_available(
    trainers: Iterable[User],
    slots: Iterable[Slot],
    *,
    ignore_session_ids: Iterable[int] = (),
    ignore_edition_id: int | None = None,
) -> None:
    """Refuse when a trainer already gives a session at an overlapping time (editions and
    inhouse bookings alike). Used by every operation that puts a trainer on a time."""
    slots = list(slots)
    ignore_session_ids = list(ignore_session_ids)
    trainers = list(trainers)
    # Lock the trainers' rows so two staff members cannot book the same trainer at once
    # (PostgreSQL; SQLite serialises writers anyway).
    if trainers:
        db.session.execute(
            select(User.id).where(User.id.in_([t.id for t in trainers])).with_for_update()
        )
    for trainer in trainers:
        conflicts = trainer_conflicts(
            trainer,
            slots,
            ignore_session_ids=ignore_session_ids,
            ignore_edition_id=ignore_edition_id,
        )
        if conflicts:
            clash = conflicts[0]
            raise DomainError(
                _l(
                    "%(name)s geeft op dat moment al een sessie: %(course)s op %(when)s. "
                    "Kies een andere tijd of een andere trainer.",
                    name=trainer.name,
                    course=clash.course.title,
                    when=_when(clash.starts_at),
                ),
                field="trainers",
            )


def trainers() -> list[User]:
    """Active users with the trainer role, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(
                UserRole.role == Role.TRAINER,
                User.is_active_account.is_(True),
                User.deleted_at.is_(None),
            )
            .order_by(User.name)
        )
    )


def set_trainer_bio(trainer: User, bio: str | None) -> None:
    """The text about a trainer shown on the pages of courses they give."""
    if not trainer.is_trainer:
        raise DomainError(_l("%(name)s is geen trainer.", name=trainer.name))
    trainer.bio = (bio or "").strip() or None
    db.session.flush()
    audit.record("trainer.bio_updated", trainer, length=len(trainer.bio or ""))


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
    _check_slots(data.slots, now)
    if not (data.location or "").strip() and not (data.online_url or "").strip():
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
    _check_trainer_roles(data.trainers)
    ensure_trainers_available(data.trainers, slots)

    location = (data.location or "").strip() or None
    online_url = (data.online_url or "").strip() or None
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
    _check_trainer_roles(new_trainers)
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


MAX_LOCATION_LENGTH = 300  # the column's size
MAX_PRICE = Decimal("99999999.99")  # what Numeric(10, 2) holds


def _check_details(edition: Edition, data: EditionDetails, now: datetime) -> None:
    location = (data.location or "").strip()
    if not location and not edition.online_url:
        raise DomainError(_l("Vul een locatie in."), field="location")
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
    """Change the place, enrollment deadline and/or price of a scheduled edition; returns what
    changed ("location", "enrollment_deadline", "price_seat").

    A new place moves the sessions still to come that were at the old place (a session staff
    moved elsewhere keeps its own) and bumps their revision, so every invite is updated; bookings
    tells the people concerned. A new price is for enrollments from now on: an enrollment keeps
    the price it was made at, and so do its invoices.
    """
    now = now or utcnow()
    _check_edition_planned(edition)
    _check_details(edition, data, now)
    location = (data.location or "").strip() or None
    changed: list[str] = []
    if location != edition.location:
        before = edition.location
        moved = [
            s
            for s in edition.active_sessions
            if s.starts_at > now and (s.location or None) == before
        ]
        edition.location = location
        note = str(_l("Nieuwe locatie: %(place)s", place=location or edition.place()))
        for session in moved:
            session.location = location
            session.change_details(note=note)
        db.session.flush()
        audit.record(
            "edition.location_changed",
            edition,
            before=before,
            after=location,
            sessions=[s.id for s in moved],
        )
        edition_location_changed.send(edition, before=before, sessions=moved)
        changed.append("location")
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


def cancel_edition(edition: Edition, reason: str | None = None) -> list[TrainingSession]:
    """Cancel the edition and its planned sessions; informing participants is for bookings."""
    cancelled = edition.cancel((reason or "").strip() or None)
    db.session.flush()
    audit.record(
        "edition.cancelled",
        edition,
        reason=edition.cancel_reason,
        sessions=[s.id for s in cancelled],
    )
    edition_changed.send(edition)  # participants are told and refunded by bookings
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


# -- public catalog: pure reads ------------------------------------------------------------------
FILTER_NAMES = ("kind", "phase", "audience", "delivery", "from", "q")
MAX_QUERY_LENGTH = 100
_FILTER_VALUES: Mapping[str, frozenset[str]] = {
    "kind": frozenset(k.value for k in CourseKind),
    "phase": frozenset(p.value for p in Phase),
    "audience": frozenset(a.value for a in Audience),
    # 'both' is a property of a course, not a choice for the visitor: it matches either filter.
    "delivery": frozenset({Delivery.INHOUSE.value, Delivery.OPEN.value}),
}


@dataclass(frozen=True)
class CatalogFilters:
    """The catalog's filters as read from a URL; unknown values are simply left out."""

    kind: str | None = None
    phase: str | None = None
    audience: str | None = None
    delivery: str | None = None
    start_from: date | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping) -> CatalogFilters:
        def first_known(name: str) -> str | None:
            values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
            for value in values:
                if isinstance(value, str) and value.strip() in _FILTER_VALUES[name]:
                    return value.strip()
            return None

        start_from = None
        raw_date = args.get("from")
        if isinstance(raw_date, str) and raw_date.strip():
            try:
                start_from = date.fromisoformat(raw_date.strip())
            except ValueError:
                start_from = None
        q = args.get("q")
        # Control characters (NUL breaks PostgreSQL text) cannot be part of a search.
        q = "".join(ch if ch.isprintable() else " " for ch in q) if isinstance(q, str) else ""
        q = " ".join(q.split())[:MAX_QUERY_LENGTH]
        return cls(
            kind=first_known("kind"),
            phase=first_known("phase"),
            audience=first_known("audience"),
            delivery=first_known("delivery"),
            start_from=start_from,
            q=q,
        )

    def to_args(self) -> dict[str, str]:
        """Query arguments for a shareable URL, empty filters left out."""
        args = {
            "kind": self.kind,
            "phase": self.phase,
            "audience": self.audience,
            "delivery": self.delivery,
            "from": self.start_from.isoformat() if self.start_from else None,
            "q": self.q or None,
        }
        return {k: v for k, v in args.items() if v}

    def without(self, name: str) -> CatalogFilters:
        attr = "start_from" if name == "from" else name
        return replace(self, **{attr: "" if name == "q" else None})

    @property
    def is_empty(self) -> bool:
        return not self.to_args()

    def active(self) -> list[tuple[str, str]]:
        """(filter name, label shown to the visitor) for every filter in use."""
        labels = []
        if self.kind:
            labels.append(("kind", str(COURSE_KIND_LABELS[CourseKind(self.kind)])))
        if self.phase:
            phase = str(PHASE_LABELS[Phase(self.phase)]).lower()
            labels.append(("phase", str(_l("fase %(p)s", p=phase))))
        if self.audience:
            labels.append(("audience", str(AUDIENCE_LABELS[Audience(self.audience)])))
        if self.delivery:
            labels.append(("delivery", str(DELIVERY_LABELS[Delivery(self.delivery)])))
        if self.start_from:
            labels.append(
                ("from", str(_l("gepland vanaf %(d)s", d=self.start_from.strftime("%d-%m-%Y"))))
            )
        if self.q:
            labels.append(("q", str(_l("zoekterm “%(q)s”", q=self.q))))
        return labels


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=AMSTERDAM).astimezone(UTC)


def _has_planned_session_from(moment: datetime):
    return exists(
        select(TrainingSession.id)
        .join(Edition, TrainingSession.edition_id == Edition.id)
        .where(
            Edition.course_id == Course.id,
            Edition.status == EditionStatus.SCHEDULED,
            TrainingSession.status == SessionStatus.SCHEDULED,
            TrainingSession.starts_at >= moment,
        )
    )


def catalog_query(filters: CatalogFilters) -> Select:
    """Published courses matching every filter in use, by title."""
    query = select(Course).where(Course.published.is_(True))
    if filters.kind:
        query = query.where(Course.kind == filters.kind)
    if filters.phase:
        query = query.where(
            Course.id.in_(select(CoursePhase.course_id).where(CoursePhase.phase == filters.phase))
        )
    if filters.audience:
        query = query.where(Course.audience == filters.audience)
    if filters.delivery:
        query = query.where(Course.delivery.in_([filters.delivery, Delivery.BOTH.value]))
    if filters.start_from:
        query = query.where(_has_planned_session_from(_local_midnight(filters.start_from)))
    for word in fold_text(filters.q).split():
        query = query.where(Course.search_text.contains(word, autoescape=True))
    return query.order_by(Course.title)


def search_courses(filters: CatalogFilters) -> list[Course]:
    return list(db.session.scalars(catalog_query(filters)))


def count_courses(filters: CatalogFilters) -> int:
    return db.session.scalar(select(func.count()).select_from(catalog_query(filters).subquery()))


def relaxations(filters: CatalogFilters) -> list[tuple[str, CatalogFilters, int]]:
    """For an empty result: each filter in use, the filters without it, and how many courses
    that would show; the most helpful first."""
    options = []
    for name, label in filters.active():
        wider = filters.without(name)
        options.append((label, wider, count_courses(wider)))
    return sorted(options, key=lambda item: -item[2])


def next_starts(courses: Sequence[Course], now: datetime | None = None) -> dict[int, datetime]:
    """The first upcoming planned session start of each course's open editions."""
    now = now or utcnow()
    if not courses:
        return {}
    rows = db.session.execute(
        select(Edition.course_id, func.min(TrainingSession.starts_at))
        .join(TrainingSession, TrainingSession.edition_id == Edition.id)
        .where(
            Edition.course_id.in_([c.id for c in courses]),
            Edition.status == EditionStatus.SCHEDULED,
            TrainingSession.status == SessionStatus.SCHEDULED,
            TrainingSession.starts_at >= now,
        )
        .group_by(Edition.course_id)
    )
    return {course_id: start for course_id, start in rows}


def courses_by_phase() -> dict[str, list[Course]]:
    """Every published course under each phase it serves (a course can appear more than once)."""
    courses = search_courses(CatalogFilters())
    return {phase.value: [c for c in courses if phase.value in c.phases] for phase in Phase}


def published_course_or_none(slug: str, *, preview: bool = False) -> Course | None:
    if not SLUG_PATTERN.match(slug) or len(slug) > MAX_SLUG_LENGTH:
        return None  # cannot exist; and some bytes (NUL) would upset PostgreSQL
    course = db.session.scalar(select(Course).where(Course.slug == slug))
    if course is None or (not course.published and not preview):
        return None
    return course


def upcoming_editions_query(now: datetime | None = None) -> Select:
    """Planned editions with a planned session still to start, soonest first."""
    now = now or utcnow()
    first_start = (
        select(func.min(TrainingSession.starts_at))
        .where(
            TrainingSession.edition_id == Edition.id,
            TrainingSession.status == SessionStatus.SCHEDULED,
        )
        .correlate(Edition)
        .scalar_subquery()
    )
    return (
        select(Edition)
        .where(
            Edition.status == EditionStatus.SCHEDULED,
            exists(
                select(TrainingSession.id).where(
                    TrainingSession.edition_id == Edition.id,
                    TrainingSession.status == SessionStatus.SCHEDULED,
                    TrainingSession.starts_at >= now,
                )
            ),
        )
        .order_by(first_start, Edition.id)
    )


def upcoming_editions(course: Course, now: datetime | None = None) -> list[Edition]:
    return list(
        db.session.scalars(upcoming_editions_query(now).where(Edition.course_id == course.id))
    )


def upcoming_public_editions(limit: int, now: datetime | None = None) -> list[Edition]:
    """The next editions of published courses, for the home page."""
    query = (
        upcoming_editions_query(now)
        .join(Course, Edition.course_id == Course.id)
        .where(Course.published.is_(True))
        .limit(limit)
    )
    return list(db.session.scalars(query))


def upcoming_trainers(editions: Iterable[Edition]) -> list[User]:
    """The trainers of these editions, each once, in order of appearance."""
    seen: dict[int, User] = {}
    for edition in editions:
        for trainer in edition.trainers:
            seen.setdefault(trainer.id, trainer)
    return list(seen.values())


def public_calendar_sessions(now: datetime | None = None) -> list[TrainingSession]:
    """Sessions still to come of planned open editions of published courses."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(TrainingSession)
            .join(Edition, TrainingSession.edition_id == Edition.id)
            .join(Course, Edition.course_id == Course.id)
            .where(
                Course.published.is_(True),
                Edition.status == EditionStatus.SCHEDULED,
                TrainingSession.status == SessionStatus.SCHEDULED,
                TrainingSession.ends_at >= now,
            )
            .order_by(TrainingSession.starts_at, TrainingSession.id)
        )
    )


def public_calendar(now: datetime | None = None) -> bytes:
    """The iCalendar feed of upcoming open sessions (/calendar/public.ics)."""
    from flask import current_app

    from ..notifications.calendar import CalendarEvent, build_calendar
    from ..urls import public_url

    events = []
    for session in public_calendar_sessions(now):
        edition = session.edition
        course = session.course
        day_numbers = [s.id for s in edition.active_sessions]
        summary = course.title
        if len(day_numbers) > 1 and session.id in day_numbers:
            summary = str(
                _l(
                    "%(title)s (dag %(n)s van %(total)s)",
                    title=course.title,
                    n=day_numbers.index(session.id) + 1,
                    total=len(day_numbers),
                )
            )
        url = public_url("courses.course", slug=course.slug)
        description = "\n\n".join(
            part
            for part in (
                course.summary,
                str(_l("Inschrijven en meer informatie: %(url)s", url=url)),
            )
            if part
        )
        events.append(
            CalendarEvent(
                # Its own UID space: the feed must not collide with personal invites for
                # the same session in a subscriber's calendar.
                uid=f"public-session-{session.id}@bbtraining",
                sequence=session.revision,
                start=session.starts_at,
                end=session.ends_at,
                summary=summary,
                description=description,
                location=session.place() or None,
                url=url,
            )
        )
    name = str(_l("Open trainingen van %(org)s", org=current_app.config["ORGANISATION_NAME"]))
    return build_calendar(events, method="PUBLISH", name=name)
