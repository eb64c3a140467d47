import unicodedata
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from flask_babel import force_locale, format_decimal, ngettext
from flask_babel import gettext as _
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..db_types import UTCDateTime, utcnow
from ..errors import DomainError
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..money import incl_vat
from .signals import session_changed

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SEARCH_LOCALES = ("nl", "en")


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


EDITION_STATUS_LABELS = {
    EditionStatus.SCHEDULED: _l("gepland"),
    EditionStatus.CANCELLED: _l("geannuleerd"),
    EditionStatus.COMPLETED: _l("afgerond"),
}


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
        CheckConstraint("duration_minutes >= 1", name="duration_positive"),
        CheckConstraint("session_count >= 1", name="session_count_positive"),
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
    # Folded copy of the searchable text (lower case, accents removed), kept up to date on every
    # insert and update: case-insensitive search must behave the same on SQLite, whose lower()
    # only knows ASCII, and on PostgreSQL ("ideeën", "IDEEËN" and "ideeen" all match).
    search_text: Mapped[str] = mapped_column(Text, default="")
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

    @property
    def session_length_label(self) -> str:
        minutes = self.duration_minutes
        if minutes < 60:
            return ngettext("%(num)s minuut", "%(num)s minuten", minutes)
        return _("%(hours)s uur", hours=format_decimal(round(minutes / 60, 2)))

    @property
    def duration_label(self) -> str:
        return ngettext(
            "%(num)s sessie van %(length)s",
            "%(num)s sessies van %(length)s",
            self.session_count,
            length=self.session_length_label,
        )

    @property
    def vat_percent(self) -> str:
        return format_decimal(self.vat_rate)

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in (self.description or "").split("\n\n") if p.strip()]

    @property
    def phase_labels(self) -> list[str]:
        return [str(PHASE_LABELS[Phase(p)]) for p in self.phases]

    @property
    def price_inhouse_incl_vat(self) -> Decimal | None:
        return None if self.price_inhouse is None else incl_vat(self.price_inhouse, self.vat_rate)

    @property
    def price_seat_incl_vat(self) -> Decimal | None:
        return None if self.price_seat is None else incl_vat(self.price_seat, self.vat_rate)

    def missing_prices(self) -> list[str]:
        """The prices this course's delivery needs but does not have."""
        missing = []
        if self.is_inhouse and self.price_inhouse is None:
            missing.append("price_inhouse")
        if self.is_open and self.price_seat is None:
            missing.append("price_seat")
        return missing

    def publish(self) -> None:
        if self.published:
            raise DomainError(_l("Deze training is al gepubliceerd."))
        if self.missing_prices():
            raise DomainError(price_missing_message(self))
        if not self.phase_rows:
            raise DomainError(_l("Kies minstens één fase voordat u de training publiceert."))
        self.published = True

    def unpublish(self) -> None:
        if not self.published:
            raise DomainError(_l("Deze training is niet gepubliceerd."))
        self.published = False

    def refresh_search_text(self) -> None:
        parts = [self.title, self.summary, self.description, self.learning_goals]
        # The kind and audience labels in every language, whichever language the editor used.
        for locale in SEARCH_LOCALES:
            with force_locale(locale):
                parts += [self.kind_label, self.audience_label]
        self.search_text = fold_text(" ".join(p or "" for p in parts))

    def __str__(self) -> str:
        return self.title


def price_missing_message(course: Course):
    if course.delivery == Delivery.BOTH:
        return _l(
            "Vul een prijs per sessie (inhouse) én een prijs per deelnemer (open inschrijving) "
            "in voordat u deze training publiceert."
        )
    if course.delivery == Delivery.INHOUSE:
        return _l("Vul een prijs per sessie (inhouse) in voordat u deze training publiceert.")
    return _l("Vul een prijs per deelnemer in voordat u deze training publiceert.")


def fold_text(text: str) -> str:
    """Lower case without accents, for search that ignores both."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@event.listens_for(Course, "before_insert")
@event.listens_for(Course, "before_update")
def _course_search_text(_mapper, _connection, course: Course) -> None:
    course.refresh_search_text()


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

    @property
    def unit_price_incl_vat(self) -> Decimal | None:
        price = self.unit_price
        return None if price is None else incl_vat(price, self.course.vat_rate)

    @property
    def is_scheduled(self) -> bool:
        return self.status == EditionStatus.SCHEDULED

    @property
    def status_label(self) -> str:
        return str(EDITION_STATUS_LABELS.get(self.status, self.status))

    @property
    def fill_percent(self) -> int:
        return round(100 * self.seats_taken / self.capacity) if self.capacity else 0

    def place(self) -> str:
        return self.location or self.online_url or ""

    def cancel(self, reason: str | None = None) -> list["TrainingSession"]:
        """Cancel the edition and its sessions still planned; returns those sessions, whose
        participants the caller informs."""
        if self.status != EditionStatus.SCHEDULED:
            raise DomainError(_l("Alleen een geplande editie kan worden geannuleerd."))
        self.status = EditionStatus.CANCELLED
        self.cancel_reason = reason
        cancelled = self.active_sessions
        for session in cancelled:
            session.cancel(reason)
        return cancelled

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
        if self.is_cancelled:
            raise DomainError(_l("Een geannuleerde sessie kan niet worden verplaatst."))
        if ends_at <= starts_at:
            raise DomainError(_l("De eindtijd moet na de begintijd liggen."))
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
        if self.is_cancelled:
            raise DomainError(_l("Deze sessie is al geannuleerd."))
        self.status = SessionStatus.CANCELLED
        self.revision += 1
        self.change_note = note
        session_changed.send(self, change="cancelled")
