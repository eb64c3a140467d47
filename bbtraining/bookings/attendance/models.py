"""Attendance per session, guests added on the spot, session notes, and completion per course run.

A *participant key* is the one `sessions.participants` hands out ("enrollment:12",
"inhouse:5:3", "guest:7"): attendance hangs on it, so it does not matter what booked a person.
Completion is decided per *group* of sessions (`sessions.groups`: an edition, an inhouse
booking, or a single session without either), keyed by the group's stored key such as
"edition:4".
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...auth.models import User
from ...courses.models import Course, Edition, TrainingSession
from ...db_types import UTCDateTime, utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    EXCUSED = "excused"


ATTENDANCE_STATUS_LABELS = {
    AttendanceStatus.PRESENT: _l("Aanwezig"),
    AttendanceStatus.ABSENT: _l("Afwezig"),
    AttendanceStatus.EXCUSED: _l("Afgemeld"),
}


class AttendanceSource(StrEnum):
    TRAINER = "trainer"
    SELF_CHECK_IN = "self-check-in"
    STAFF = "staff"


ATTENDANCE_SOURCE_LABELS = {
    AttendanceSource.TRAINER: _l("Trainer"),
    AttendanceSource.SELF_CHECK_IN: _l("Zelf aangemeld"),
    AttendanceSource.STAFF: _l("Medewerker"),
}


class AttendanceRecord(db.Model):
    """Whether one participant was at one session; a row exists once someone marked it."""

    __tablename__ = "attendance_record"
    __table_args__ = (
        UniqueConstraint("session_id", "participant_key", name="uq_attendance_record_participant"),
        CheckConstraint("status IN ('present', 'absent', 'excused')", name="status_known"),
        CheckConstraint("source IN ('trainer', 'self-check-in', 'staff')", name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), index=True
    )
    participant_key: Mapped[str] = mapped_column(String(160))
    # Who it was at the time of marking: exports and the participant's own panel keep working
    # when the booking that brought them is cancelled later.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(10))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default=AttendanceSource.TRAINER)
    # A self check-in waits for the trainer's confirmation; a trainer's own mark is confirmed.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[TrainingSession] = relationship()
    marked_by: Mapped[User | None] = relationship(foreign_keys=[marked_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])

    @property
    def status_label(self) -> str:
        return str(ATTENDANCE_STATUS_LABELS.get(self.status, self.status))

    @property
    def source_label(self) -> str:
        return str(ATTENDANCE_SOURCE_LABELS.get(self.source, self.source))

    @property
    def awaiting_confirmation(self) -> bool:
        return (
            self.source == AttendanceSource.SELF_CHECK_IN
            and self.status == AttendanceStatus.PRESENT
            and self.confirmed_at is None
        )

    def refuse_self_check_in_over_trainer(self) -> None:
        """A participant's own scan does not undo what the trainer or staff decided: someone
        marked absent or excused who is there after all says so to the trainer."""
        if (
            self.status in (AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED)
            and self.source != AttendanceSource.SELF_CHECK_IN
        ):
            raise DomainError(
                _l(
                    "De trainer heeft u voor deze sessie als afwezig of afgemeld genoteerd. "
                    "Bent u er toch? Meld u dan bij de trainer; die past het aan op de lijst."
                )
            )

    def mark(self, status: str, *, by: User | None, source: str, at: datetime) -> bool:
        """Set the status; returns whether anything changed."""
        try:
            status = AttendanceStatus(status).value
        except ValueError as exc:
            raise DomainError(_l("Kies aanwezig, afwezig of afgemeld."), field="status") from exc
        confirmed = source != AttendanceSource.SELF_CHECK_IN
        if not confirmed:
            self.refuse_self_check_in_over_trainer()
        if self.status == status:
            if confirmed and self.awaiting_confirmation:
                # A trainer ticking someone who checked in themselves confirms them.
                self.confirm(by=by, at=at)
                return True
            return False
        self.status = status
        self.source = source
        self.marked_by_id = by.id if by is not None else None
        self.marked_at = at
        self.confirmed_at = at if confirmed else None
        self.confirmed_by_id = (by.id if by is not None else None) if confirmed else None
        if status != AttendanceStatus.PRESENT:
            self.arrived_at = None
        return True

    def confirm(self, *, by: User | None, at: datetime) -> None:
        if not self.awaiting_confirmation:
            raise DomainError(_l("Er is voor deze deelnemer niets te bevestigen."))
        self.confirmed_at = at
        self.confirmed_by_id = by.id if by is not None else None


class AttendanceGuest(db.Model):
    """Someone a trainer added on the spot to an inhouse session (not booked beforehand)."""

    __tablename__ = "attendance_guest"
    __table_args__ = (UniqueConstraint("session_id", "email", name="uq_attendance_guest_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str | None] = mapped_column(String(100))  # e.g. raadslid, griffier
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def participant_key(self) -> str:
        return f"guest:{self.id}"


class SessionNote(db.Model):
    """The trainer's notes on a session as a whole (what was covered, what to follow up)."""

    __tablename__ = "attendance_session_note"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    updated_by: Mapped[User | None] = relationship()


class CompletionStatus(StrEnum):
    COMPLETED = "completed"
    NOT_COMPLETED = "not-completed"


COMPLETION_STATUS_LABELS = {
    CompletionStatus.COMPLETED: _l("Afgerond"),
    CompletionStatus.NOT_COMPLETED: _l("Niet afgerond"),
}


class Completion(db.Model):
    """Whether one participant completed one run of a course, by the course's rule.

    The counts behind the decision are kept (not a sentence), so the reason is shown in the
    reader's language. Staff may override the computed outcome with a note; recomputing keeps
    the override.
    """

    __tablename__ = "completion"
    __table_args__ = (
        UniqueConstraint("group_key", "participant_key", name="uq_completion_participant"),
        CheckConstraint(
            "computed_status IN ('completed', 'not-completed')", name="computed_status_known"
        ),
        CheckConstraint(
            "override_status IS NULL OR override_status IN ('completed', 'not-completed')",
            name="override_status_known",
        ),
        CheckConstraint(
            "override_status IS NULL OR override_note IS NOT NULL", name="override_has_note"
        ),
        CheckConstraint(
            "attended >= 0 AND excused >= 0 AND attended + excused <= counted_sessions",
            name="counts_consistent",
        ),
        CheckConstraint(
            "required_percent >= 1 AND required_percent <= 100", name="required_percent_range"
        ),
        Index("ix_completion_user", "user_id", "computed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(40), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    edition_id: Mapped[int | None] = mapped_column(
        ForeignKey("edition.id", ondelete="SET NULL"), index=True
    )
    # The person across the group's sessions: the participant key, or for guests (who are added
    # per session) their e-mail address.
    participant_key: Mapped[str] = mapped_column(String(300))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    attended: Mapped[int] = mapped_column(default=0)
    excused: Mapped[int] = mapped_column(default=0)
    counted_sessions: Mapped[int] = mapped_column(default=0)
    required_percent: Mapped[int] = mapped_column(default=100)
    # False once the person left the participant list (a cancelled enrollment).
    listed: Mapped[bool] = mapped_column(default=True)
    computed_status: Mapped[str] = mapped_column(String(16))
    override_status: Mapped[str | None] = mapped_column(String(16))
    override_note: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    overridden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the certificate states: the dates of the sessions that counted, and their trainers.
    session_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    trainer_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    # When the group's last counted session ended: the date of completion.
    group_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship(lazy="joined")
    edition: Mapped[Edition | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id])

    @property
    def status(self) -> str:
        return self.override_status or self.computed_status

    @property
    def is_completed(self) -> bool:
        return self.status == CompletionStatus.COMPLETED

    @property
    def status_label(self) -> str:
        return str(COMPLETION_STATUS_LABELS.get(self.status, self.status))

    @property
    def is_overridden(self) -> bool:
        return self.override_status is not None

    @property
    def rule_reason(self) -> str:
        """Why the rule decided as it did, e.g. "aanwezig bij 1 van 2 sessies; minimaal 100%
        vereist"."""
        if not self.listed:
            return _("Staat niet meer op de deelnemerslijst.")
        text = _(
            "Aanwezig bij %(attended)s van %(total)s sessies; minimaal %(percent)s%% vereist.",
            attended=self.attended,
            total=self.counted_sessions,
            percent=self.required_percent,
        )
        if self.excused:
            text += " " + _(
                "Afgemeld bij %(excused)s; afgemeld telt als afwezig.", excused=self.excused
            )
        return text

    @property
    def reason(self) -> str:
        if self.is_overridden:
            return _(
                "Vastgesteld door een medewerker: %(note)s (volgens de regel: %(rule)s)",
                note=self.override_note,
                rule=self.rule_reason,
            )
        return self.rule_reason

    def set_override(self, decision: str, note: str, *, by: User, at: datetime) -> None:
        note = (note or "").strip()
        if decision == "automatic":
            if not self.is_overridden:
                raise DomainError(_l("Deze afronding volgt de regel al."), field="decision")
            self.override_status = self.override_note = self.override_by_id = None
            self.overridden_at = None
            return
        try:
            decision = CompletionStatus(decision).value
        except ValueError as exc:
            raise DomainError(
                _l("Kies afgerond, niet afgerond of volgens de regel."), field="decision"
            ) from exc
        if not note:
            raise DomainError(
                _l("Geef een toelichting: waarom wijkt u af van de regel?"), field="note"
            )
        self.override_status = decision
        self.override_note = note
        self.override_by_id = by.id
        self.overridden_at = at

    def snapshot(self) -> dict[str, Any]:
        return {"status": self.status, "attended": self.attended, "sessions": self.counted_sessions}


class CompletionRun(db.Model):
    """When a group's completion was last computed, so the periodic task does it once."""

    __tablename__ = "completion_run"

    group_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
