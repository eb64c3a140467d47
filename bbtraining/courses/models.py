from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..db_types import UTCDateTime, utcnow
from ..extensions import db
from .signals import session_changed

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class CourseKind(StrEnum):
    INSPIRATIESESSIE = "inspiratiesessie"
    MASTERCLASS = "masterclass"
    FACILITATOR_TRAINING = "facilitator-training"
    CHAIR_SPARRING = "chair-sparring"


COURSE_KIND_LABELS = {
    CourseKind.INSPIRATIESESSIE: _l("Inspiratiesessie"),
    CourseKind.MASTERCLASS: _l("Masterclass"),
    CourseKind.FACILITATOR_TRAINING: _l("Training gespreksbegeleiders"),
    CourseKind.CHAIR_SPARRING: _l("Sparring voor de voorzitter"),
}


class Phase(StrEnum):
    VERKENNING = "verkenning"
    VOORBEREIDING = "voorbereiding"
    UITVOERING = "uitvoering"


PHASE_LABELS = {
    Phase.VERKENNING: _l("Verkenning"),
    Phase.VOORBEREIDING: _l("Voorbereiding"),
    Phase.UITVOERING: _l("Uitvoering"),
}


class Audience(StrEnum):
    COUNCIL = "council"  # raad en college
    CIVIL_SERVANTS = "civil-servants"
    POLITICIANS = "politicians"
    COMMUNICATION = "communication"
    FACILITATORS = "facilitators"
    CHAIRS = "chairs"


AUDIENCE_LABELS = {
    Audience.COUNCIL: _l("Raad en college"),
    Audience.CIVIL_SERVANTS: _l("Ambtenaren"),
    Audience.POLITICIANS: _l("Politici"),
    Audience.COMMUNICATION: _l("Communicatieprofessionals"),
    Audience.FACILITATORS: _l("Gespreksbegeleiders"),
    Audience.CHAIRS: _l("Voorzitters van burgerberaden"),
}


class Delivery(StrEnum):
    INHOUSE = "inhouse"
    OPEN = "open"
    BOTH = "both"


DELIVERY_LABELS = {
    Delivery.INHOUSE: _l("Inhouse"),
    Delivery.OPEN: _l("Open inschrijving"),
    Delivery.BOTH: _l("Inhouse en open"),
}


class EditionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class CoursePhase(db.Model):
    __tablename__ = "course_phase"
    __table_args__ = (
        CheckConstraint(
            "phase IN ('verkenning', 'voorbereiding', 'uitvoering')", name="phase_known"
        ),
    )

    course_id: Mapped[int] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), primary_key=True
    )
    phase: Mapped[str] = mapped_column(String(20), primary_key=True)


class Course(db.Model):
    __tablename__ = "course"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('inspiratiesessie', 'masterclass', 'facilitator-training', 'chair-sparring')",
            name="kind_known",
        ),
        CheckConstraint("delivery IN ('inhouse', 'open', 'both')", name="delivery_known"),
        CheckConstraint("max_group_size >= 1", name="max_group_size_positive"),
        CheckConstraint("vat_rate >= 0 AND vat_rate <= 100", name="vat_rate_range"),
        CheckConstraint("price_inhouse IS NULL OR price_inhouse >= 0", name="price_inhouse_pos"),
        CheckConstraint("price_seat IS NULL OR price_seat >= 0", name="price_seat_pos"),
        CheckConstraint(
            "completion_min_percent >= 1 AND completion_min_percent <= 100",
            name="completion_percent_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    audience: Mapped[str] = mapped_column(String(30))
    delivery: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # One goal per line: shown as a list on the course page.
    learning_goals: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(default=180)  # per session
    session_count: Mapped[int] = mapped_column(default=1)
    # Prices exclude VAT: per session for inhouse delivery, per seat for open editions.
    price_inhouse: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    price_seat: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("21.00"))
    max_group_size: Mapped[int] = mapped_column(default=20)
    qualifies_for_alumni: Mapped[bool] = mapped_column(default=False)
    # Completion rule: the share of sessions a participant must attend (excused counts absent).
    completion_min_percent: Mapped[int] = mapped_column(default=100)
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    phase_rows: Mapped[list[CoursePhase]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=CoursePhase.phase
    )
    editions: Mapped[list["Edition"]] = relationship(back_populates="course")

    @property
    def phases(self) -> list[str]:
        order = list(Phase)
        return sorted((row.phase for row in self.phase_rows), key=lambda p: order.index(p))

    @phases.setter
    def phases(self, values) -> None:
        wanted = {Phase(v).value for v in values}
        self.phase_rows = [r for r in self.phase_rows if r.phase in wanted] + [
            CoursePhase(phase=p) for p in sorted(wanted - {r.phase for r in self.phase_rows})
        ]

    @property
    def is_inhouse(self) -> bool:
        return self.delivery in (Delivery.INHOUSE, Delivery.BOTH)

    @property
    def is_open(self) -> bool:
        return self.delivery in (Delivery.OPEN, Delivery.BOTH)

    @property
    def kind_label(self) -> str:
        return str(COURSE_KIND_LABELS.get(self.kind, self.kind))

    @property
    def audience_label(self) -> str:
        return str(AUDIENCE_LABELS.get(self.audience, self.audience))

    @property
    def delivery_label(self) -> str:
        return str(DELIVERY_LABELS.get(self.delivery, self.delivery))

    @property
    def goals(self) -> list[str]:
        return [line.strip() for line in self.learning_goals.splitlines() if line.strip()]

    def __str__(self) -> str:
        return self.title


edition_trainer = Table(
    "edition_trainer",
    db.metadata,
    Column("edition_id", ForeignKey("edition.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class Edition(db.Model):
    """A scheduled run of an open course. Enrollments live in `bookings`; the catalog only
    keeps the seat counter that they move."""

    __tablename__ = "edition"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        # The last line of defence against overbooking, whatever the application does.
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within"),
        CheckConstraint("status IN ('scheduled', 'cancelled', 'completed')", name="status_known"),
        CheckConstraint("price_seat IS NULL OR price_seat >= 0", name="price_seat_pos"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    capacity: Mapped[int]
    seats_taken: Mapped[int] = mapped_column(default=0)
    enrollment_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(500))
    # Overrides the course's seat price for this edition when set.
    price_seat: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    # Free cancellation up to this many days before the first session; later: no refund.
    free_cancellation_days: Mapped[int] = mapped_column(default=14)
    late_refund_percent: Mapped[int] = mapped_column(default=0)
    cancellation_policy: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default=EditionStatus.SCHEDULED, index=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship(back_populates="editions", lazy="joined")
    trainers: Mapped[list[User]] = relationship(secondary=edition_trainer, lazy="selectin")
    sessions: Mapped[list["TrainingSession"]] = relationship(
        back_populates="edition",
        order_by="TrainingSession.starts_at",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_full(self) -> bool:
        return self.seats_taken >= self.capacity

    @property
    def active_sessions(self) -> list["TrainingSession"]:
        return [s for s in self.sessions if s.status == SessionStatus.SCHEDULED]

    @property
    def starts_at(self) -> datetime | None:
        sessions = self.active_sessions
        return sessions[0].starts_at if sessions else None

    @property
    def ends_at(self) -> datetime | None:
        sessions = self.active_sessions
        return sessions[-1].ends_at if sessions else None

    @property
    def unit_price(self) -> Decimal | None:
        return self.price_seat if self.price_seat is not None else self.course.price_seat

    def enrollment_open(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if self.status != EditionStatus.SCHEDULED or not self.course.published:
            return False
        if self.enrollment_deadline is not None and now > self.enrollment_deadline:
            return False
        start = self.starts_at
        return start is None or now < start

    def __str__(self) -> str:
        start = self.starts_at
        when = start.astimezone(AMSTERDAM).strftime("%d-%m-%Y") if start else "?"
        return f"{self.course.title} ({when})"


class TrainingSession(db.Model):
    """One meeting: of an edition, or of an inhouse booking (linked from `bookings`)."""

    __tablename__ = "training_session"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="status_known"),
        Index("ix_training_session_trainer_time", "trainer_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    edition_id: Mapped[int | None] = mapped_column(
        ForeignKey("edition.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(500))
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default=SessionStatus.SCHEDULED)
    # Bumped on every change a participant must hear about; becomes the invite's SEQUENCE.
    revision: Mapped[int] = mapped_column(default=0)
    change_note: Mapped[str | None] = mapped_column(Text)

    course: Mapped[Course] = relationship(lazy="joined")
    edition: Mapped[Edition | None] = relationship(back_populates="sessions")
    trainer: Mapped[User | None] = relationship(lazy="joined")

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(AMSTERDAM)

    @property
    def local_end(self) -> datetime:
        return self.ends_at.astimezone(AMSTERDAM)

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED

    def place(self) -> str:
        return self.location or self.online_url or ""

    def reschedule(self, starts_at: datetime, ends_at: datetime, note: str | None = None) -> None:
        self.starts_at, self.ends_at = starts_at, ends_at
        self.revision += 1
        self.change_note = note
        session_changed.send(self, change="moved")

    def change_details(self, note: str | None = None) -> None:
        """Place, link or trainer changed: participants get an updated invite."""
        self.revision += 1
        self.change_note = note
        session_changed.send(self, change="details")

    def cancel(self, note: str | None = None) -> None:
        self.status = SessionStatus.CANCELLED
        self.revision += 1
        self.change_note = note
        session_changed.send(self, change="cancelled")
