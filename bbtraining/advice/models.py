"""Advisors, their hours and the kennismakingsgesprekken booked with them.

The one rule the database keeps itself: an advisor never has two calls whose blocked times
(the call with its buffers) overlap. On PostgreSQL an exclusion constraint over
`tstzrange(blocked_from, blocked_until)` (btree_gist); on SQLite triggers that refuse the insert
or update. Both are created with the table (`create_all`) and by migration c1a7e3b5d9f2 from the
same statements below, so tests and production run the same guard.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    Time,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Organisation, User
from ..courses.models import Course
from ..db_types import UTCDateTime, utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l

AMSTERDAM_TZ = "Europe/Amsterdam"


class CallMode(StrEnum):
    ONLINE = "online"
    PHONE = "phone"


class CallStatus(StrEnum):
    BOOKED = "booked"
    HELD = "held"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class NextStep(StrEnum):
    COURSES = "courses"
    INHOUSE = "inhouse"
    BUNDLE = "bundle"


class OverrideKind(StrEnum):
    OFF = "off"
    EXTRA = "extra"


CALL_MODE_LABELS = {CallMode.ONLINE: _l("Online (videogesprek)"), CallMode.PHONE: _l("Telefoon")}
CALL_STATUS_LABELS = {
    CallStatus.BOOKED: _l("Gepland"),
    CallStatus.HELD: _l("Gehouden"),
    CallStatus.NO_SHOW: _l("Niet verschenen"),
    CallStatus.CANCELLED: _l("Geannuleerd"),
}
NEXT_STEP_LABELS = {
    NextStep.COURSES: _l("Trainingen voor deze fase"),
    NextStep.INHOUSE: _l("Een incompany-aanvraag"),
    NextStep.BUNDLE: _l("Een advies-strippenkaart"),
}
OVERRIDE_KIND_LABELS = {OverrideKind.OFF: _l("Vrij"), OverrideKind.EXTRA: _l("Extra uren")}
# Statuses that hold the advisor's time (the exclusion constraint's WHERE).
BLOCKING_STATUSES = (CallStatus.BOOKED.value, CallStatus.HELD.value)


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


# -- advisors ------------------------------------------------------------------------------------
class AdvisorProfile(db.Model):
    """What makes a user bookable as an advisor: their rules for calls."""

    __tablename__ = "advisor_profiles"
    __table_args__ = (
        CheckConstraint("call_minutes BETWEEN 5 AND 480", name="call_minutes_range"),
        CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0 "
            "AND travel_buffer_minutes >= 0",
            name="buffers_not_negative",
        ),
        CheckConstraint("min_notice_hours >= 0", name="notice_not_negative"),
        CheckConstraint("horizon_days >= 1", name="horizon_positive"),
        CheckConstraint("max_calls_per_day >= 1", name="max_calls_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    call_minutes: Mapped[int] = mapped_column(default=30)
    buffer_before_minutes: Mapped[int] = mapped_column(default=10)
    buffer_after_minutes: Mapped[int] = mapped_column(default=10)
    min_notice_hours: Mapped[int] = mapped_column(default=24)
    horizon_days: Mapped[int] = mapped_column(default=60)
    max_calls_per_day: Mapped[int] = mapped_column(default=4)
    travel_buffer_minutes: Mapped[int] = mapped_column(default=60)
    # The advisor's standing video link, copied onto an online call when it is booked.
    meeting_url: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(lazy="joined")
    hours: Mapped[list[AdvisorHours]] = relationship(
        back_populates="advisor",
        cascade="all, delete-orphan",
        order_by="(AdvisorHours.weekday, AdvisorHours.starts)",
    )
    overrides: Mapped[list[AdvisorDateOverride]] = relationship(
        back_populates="advisor",
        cascade="all, delete-orphan",
        order_by="(AdvisorDateOverride.day, AdvisorDateOverride.starts)",
    )

    @property
    def name(self) -> str:
        return self.user.name


class AdvisorHours(db.Model):
    """A weekly stretch of bookable time, in Europe/Amsterdam wall clock (0 = Monday)."""

    __tablename__ = "advisor_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("ends > starts", name="ends_after_start"),
        Index("ix_advisor_hours_advisor_weekday", "advisor_id", "weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    advisor_id: Mapped[int] = mapped_column(ForeignKey("advisor_profiles.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column()
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)

    advisor: Mapped[AdvisorProfile] = relationship(back_populates="hours")


class AdvisorDateOverride(db.Model):
    """One date that differs from the week: a day (or part of it) off, or extra hours."""

    __tablename__ = "advisor_date_overrides"
    __table_args__ = (
        CheckConstraint(_in("kind", OverrideKind), name="kind_known"),
        CheckConstraint(
            "(starts IS NULL AND ends IS NULL) OR (starts IS NOT NULL AND ends IS NOT NULL "
            "AND ends > starts)",
            name="times_complete",
        ),
        CheckConstraint("kind = 'off' OR starts IS NOT NULL", name="extra_has_times"),
        Index("ix_advisor_date_overrides_advisor_day", "advisor_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    advisor_id: Mapped[int] = mapped_column(ForeignKey("advisor_profiles.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column()
    kind: Mapped[str] = mapped_column(String(8))
    starts: Mapped[time | None] = mapped_column(Time)
    ends: Mapped[time | None] = mapped_column(Time)
    note: Mapped[str | None] = mapped_column(String(200))

    advisor: Mapped[AdvisorProfile] = relationship(back_populates="overrides")

    @property
    def whole_day(self) -> bool:
        return self.starts is None


# -- calls ---------------------------------------------------------------------------------------
advice_call_courses = Table(
    "advice_call_courses",
    db.metadata,
    Column("call_id", ForeignKey("advice_calls.id", ondelete="CASCADE"), primary_key=True),
    Column("course_id", ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
)


def _new_uid() -> str:
    return f"advice-{secrets.token_hex(12)}@bbtraining"


class AdviceCall(db.Model):
    """A kennismakingsgesprek: who asked, with which advisor, when, and what came of it."""

    __tablename__ = "advice_calls"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "blocked_from <= starts_at AND blocked_until >= ends_at", name="blocked_covers_call"
        ),
        CheckConstraint(_in("mode", CallMode), name="mode_known"),
        CheckConstraint(_in("status", CallStatus), name="status_known"),
        CheckConstraint(
            "next_step IS NULL OR " + _in("next_step", NextStep), name="next_step_known"
        ),
        CheckConstraint("mode = 'online' OR phone IS NOT NULL", name="phone_for_phone_call"),
        Index("ix_advice_calls_advisor_blocked", "advisor_id", "blocked_from"),
        Index("ix_advice_calls_status_starts", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    advisor_id: Mapped[int] = mapped_column(ForeignKey("advisor_profiles.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_from: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(40))
    phase: Mapped[str] = mapped_column(String(20))
    organisation_name_given: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text, default="")
    time_zone: Mapped[str] = mapped_column(String(64), default=AMSTERDAM_TZ)
    status: Mapped[str] = mapped_column(String(12), default=CallStatus.BOOKED.value)
    uid: Mapped[str] = mapped_column(String(100), unique=True, default=_new_uid)
    sequence: Mapped[int] = mapped_column(default=0)
    video_url: Mapped[str | None] = mapped_column(String(500))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Staff only: what the advisor wrote down; the client sees the phase and the next step.
    outcome_notes: Mapped[str | None] = mapped_column(Text)
    outcome_phase: Mapped[str | None] = mapped_column(String(20))
    next_step: Mapped[str | None] = mapped_column(String(10))
    outcome_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    advisor: Mapped[AdvisorProfile] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship()
    requester: Mapped[User] = relationship()
    suggested_courses: Mapped[list[Course]] = relationship(
        secondary=advice_call_courses, order_by=Course.id
    )

    # -- state ---------------------------------------------------------------------------------
    @property
    def is_booked(self) -> bool:
        return self.status == CallStatus.BOOKED

    @property
    def is_cancelled(self) -> bool:
        return self.status == CallStatus.CANCELLED

    def cancel(self, now: datetime) -> None:
        if not self.is_booked:
            raise DomainError(_l("Alleen een gepland gesprek kan worden geannuleerd."))
        self.status = CallStatus.CANCELLED.value
        self.cancelled_at = now
        self.sequence += 1

    def mark_held(self) -> None:
        if self.status not in (CallStatus.BOOKED, CallStatus.NO_SHOW):
            raise DomainError(_l("Een geannuleerd gesprek kan niet als gehouden gelden."))
        self.status = CallStatus.HELD.value

    def mark_no_show(self) -> None:
        if self.status not in (CallStatus.BOOKED, CallStatus.HELD):
            raise DomainError(_l("Een geannuleerd gesprek kan niet als gemist gelden."))
        self.status = CallStatus.NO_SHOW.value

    def move_to(
        self,
        starts_at: datetime,
        ends_at: datetime,
        blocked_from: datetime,
        blocked_until: datetime,
    ) -> None:
        if not self.is_booked:
            raise DomainError(_l("Alleen een gepland gesprek kan worden verplaatst."))
        if ends_at <= starts_at or blocked_from > starts_at or blocked_until < ends_at:
            raise DomainError(_l("De eindtijd moet na de begintijd liggen."))
        self.starts_at, self.ends_at = starts_at, ends_at
        self.blocked_from, self.blocked_until = blocked_from, blocked_until
        self.sequence += 1
        self.reminder_sent_at = None


# -- the no-overlap guard, per dialect -------------------------------------------------------------
NO_OVERLAP = "ex_advice_call_no_overlap"
POSTGRESQL_NO_OVERLAP_DDL = (
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    f"ALTER TABLE advice_calls ADD CONSTRAINT {NO_OVERLAP} EXCLUDE USING gist "
    "(advisor_id WITH =, tstzrange(blocked_from, blocked_until) WITH &&) "
    "WHERE (status = 'booked' OR status = 'held')",
)
_SQLITE_OVERLAP_CHECK = (  # noqa: S608 - constant SQL, no input
    "SELECT RAISE(ABORT, 'ex_advice_call_no_overlap') "
    "WHERE (new.status = 'booked' OR new.status = 'held') "
    "AND EXISTS (SELECT 1 FROM advice_calls AS other WHERE other.advisor_id = new.advisor_id "
    "AND other.id IS NOT new.id AND (other.status = 'booked' OR other.status = 'held') "
    "AND other.blocked_from < new.blocked_until AND new.blocked_from < other.blocked_until);"
)
SQLITE_NO_OVERLAP_DDL = (
    f"CREATE TRIGGER {NO_OVERLAP}_insert BEFORE INSERT ON advice_calls "
    f"BEGIN {_SQLITE_OVERLAP_CHECK} END",
    f"CREATE TRIGGER {NO_OVERLAP}_update BEFORE UPDATE OF advisor_id, blocked_from, "
    f"blocked_until, status ON advice_calls BEGIN {_SQLITE_OVERLAP_CHECK} END",
)
for _statement in POSTGRESQL_NO_OVERLAP_DDL:
    event.listen(
        AdviceCall.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )
for _statement in SQLITE_NO_OVERLAP_DDL:
    event.listen(AdviceCall.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
