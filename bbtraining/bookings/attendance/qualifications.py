"""Verified trainings: who completed which course, recorded by attendance or by staff.

This is the one place where `bookings` tells the rest of the platform that someone is trained.
Attendance/completion calls `record_qualification` when a participant completes an edition; until
then (and for trainings from before the platform) staff record one by hand. The alumni pool reads
these rows to show verified trainings and to decide who may publish a profile, and reacts to the
`qualified` signal (bookings must not import alumni: imports point one way).
"""

from datetime import datetime
from enum import StrEnum

from blinker import Namespace
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    exists,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ... import audit
from ...auth.models import User
from ...courses.models import Course, Edition
from ...db_types import UTCDateTime, utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l

_signals = Namespace()

# sender: the Qualification just recorded (not one recorded before); sent in the recording's
# transaction, so what a receiver writes (an outbox mail) is kept or rolled back with it.
qualified = _signals.signal("qualified")
# sender: a settled Completion of someone without an account (a colleague a booker named): the
# qualification waits for an account with a verified address (`completion.claim_completions`).
completed_without_account = _signals.signal("completed-without-account")


class QualificationSource(StrEnum):
    ATTENDANCE = "attendance"
    ADMIN = "admin"


class Qualification(db.Model):
    __tablename__ = "qualification"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "edition_id", name="uq_qualification_user_course"),
        # NULLs are distinct in a unique constraint: one row per course without an edition too.
        Index(
            "uq_qualification_user_course_no_edition",
            "user_id",
            "course_id",
            unique=True,
            postgresql_where=text("edition_id IS NULL"),
            sqlite_where=text("edition_id IS NULL"),
        ),
        Index("ix_qualification_course_user", "course_id", "user_id"),
        CheckConstraint("source IN ('attendance', 'admin')", name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("edition.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(12))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    course: Mapped[Course] = relationship(lazy="joined")
    edition: Mapped[Edition | None] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    @property
    def source_label(self) -> str:
        return str(
            _l("Aanwezigheid")
            if self.source == QualificationSource.ATTENDANCE
            else _l("Medewerker")
        )


def find_qualification(user: User, course: Course, edition: Edition | None) -> Qualification | None:
    query = select(Qualification).where(
        Qualification.user_id == user.id, Qualification.course_id == course.id
    )
    if edition is None:
        query = query.where(Qualification.edition_id.is_(None))
    else:
        query = query.where(Qualification.edition_id == edition.id)
    return db.session.scalar(query)


def record_qualification(
    user: User,
    course: Course,
    *,
    edition: Edition | None = None,
    source: str,
    by: User | None = None,
    note: str | None = None,
    completed_at: datetime | None = None,
) -> Qualification:
    """Record that `user` completed `course` (in `edition`); recording it again changes nothing.

    A new record sends `qualified` (the alumni pool invites people to publish a profile).
    """
    try:
        source = QualificationSource(source).value
    except ValueError as exc:
        raise DomainError(_l("Onbekende bron van de registratie.")) from exc
    if edition is not None and edition.course_id != course.id:
        raise DomainError(_l("Deze editie hoort niet bij de gekozen training."), field="edition_id")
    existing = find_qualification(user, course, edition)
    if existing is not None:
        return existing
    if completed_at is None:
        completed_at = (edition.ends_at if edition is not None else None) or utcnow()
    qualification = Qualification(
        user_id=user.id,
        course_id=course.id,
        edition_id=edition.id if edition is not None else None,
        completed_at=completed_at,
        source=source,
        recorded_by_id=by.id if by is not None else None,
        note=(note or "").strip() or None,
    )
    try:
        with db.session.begin_nested():  # a concurrent recording of the same training wins
            db.session.add(qualification)
    except IntegrityError:
        existing = find_qualification(user, course, edition)
        if existing is None:
            raise
        return existing
    qualification.course = course
    audit.record(
        "qualification.recorded",
        qualification,
        actor=by,
        user_id=user.id,
        course_id=course.id,
        edition_id=qualification.edition_id,
        source=source,
    )
    qualified.send(qualification)
    return qualification


def qualifications_of(user: User) -> list[Qualification]:
    return list(
        db.session.scalars(
            select(Qualification)
            .where(Qualification.user_id == user.id)
            .order_by(Qualification.completed_at.desc())
        )
    )


def has_alumni_qualification(user: User) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Qualification.user_id == user.id,
                    Qualification.course_id == Course.id,
                    Course.qualifies_for_alumni.is_(True),
                )
            )
        )
    )
