"""The public catalog: pure reads (filters, search, upcoming editions, the public calendar)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, exists, func, select

from ..auth.models import User
from ..db_types import utcnow
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .courses import MAX_SLUG_LENGTH, SLUG_PATTERN
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
    fold_text,
)

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


def basic_training(now: datetime | None = None) -> tuple[Course | None, Edition | None]:
    """Where a new facilitator starts: the published facilitator training that qualifies for the
    alumni pool with the soonest edition to come (or, with none planned, the first such course)."""
    qualifying = (
        Course.published.is_(True),
        Course.kind == CourseKind.FACILITATOR_TRAINING,
        Course.qualifies_for_alumni.is_(True),
    )
    edition = db.session.scalars(
        upcoming_editions_query(now).join(Course, Edition.course_id == Course.id).where(*qualifying)
    ).first()
    if edition is not None:
        return edition.course, edition
    course = db.session.scalars(select(Course).where(*qualifying).order_by(Course.id)).first()
    return course, None


def upcoming_trainers(editions: Iterable[Edition]) -> list[User]:
    """The trainers of these editions, each once, in order of appearance."""
    seen: dict[int, User] = {}
    for edition in editions:
        for trainer in edition.trainers:
            seen.setdefault(trainer.id, trainer)
    return list(seen.values())


def next_change_by_clock(now: datetime | None = None) -> datetime:
    """The next moment the public pages and the public calendar change with the clock alone, the
    data unchanged: a planned session starting or ending, an enrollment deadline passing, or the
    date turning in Amsterdam (rules by the day, such as the last day of free cancellation)."""
    now = now or utcnow()
    planned = (
        select(TrainingSession.starts_at, TrainingSession.ends_at)
        .join(Edition, TrainingSession.edition_id == Edition.id)
        .where(
            Edition.status == EditionStatus.SCHEDULED,
            TrainingSession.status == SessionStatus.SCHEDULED,
            TrainingSession.ends_at > now,
        )
        .subquery()
    )
    starts, ends, deadline = db.session.execute(
        select(
            select(func.min(planned.c.starts_at))
            .where(planned.c.starts_at > now)
            .scalar_subquery(),
            select(func.min(planned.c.ends_at)).scalar_subquery(),
            select(func.min(Edition.enrollment_deadline))
            .where(
                Edition.status == EditionStatus.SCHEDULED,
                Edition.enrollment_deadline >= now,
            )
            .scalar_subquery(),
        )
    ).one()
    local_now = now.astimezone(AMSTERDAM)
    midnight = datetime.combine(local_now.date() + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
    # A deadline is open through its own moment (`now > deadline` closes it): a second later.
    moments = [starts, ends, deadline + timedelta(seconds=1) if deadline else None, midnight]
    return min(m.astimezone(UTC) for m in moments if m is not None)


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
