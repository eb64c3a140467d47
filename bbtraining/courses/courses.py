"""Course rules: create, edit, publish and unpublish a course of the catalog.

Every function flushes and never commits (the view commits once), raises DomainError with a
Dutch message when a rule refuses, and writes an audit entry for every state change.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from .. import audit
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from .models import (
    Audience,
    Course,
    CourseKind,
    Delivery,
    Edition,
    EditionStatus,
    Phase,
    price_missing_message,
)

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
