"""Inhouse bookings: a council asks for a course at its own venue, staff send a proposal, the
council accepts it with its purchase-order number, sessions are scheduled, invoiced and paid.

The life of a booking is a state machine on `InhouseBooking`; every move (and every event that
is not a move, such as a revised proposal or a rescheduled session) is one `InhouseTransition`
row, which is the timeline that client and staff see, and one audit entry.
"""

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ... import audit
from ...auth.models import Organisation, User
from ...courses.models import AMSTERDAM, Course, SessionStatus, TrainingSession
from ...db_types import UTCDateTime, utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..billing.invoices import Invoice

if TYPE_CHECKING:  # the proposal module maps onto this one, not the other way round
    from .proposal_models import InhouseAddendum, InhouseProposal


# What a client or staff member may type in one text field (context, questions, a message).
MAX_TEXT = 5000


def today_amsterdam() -> date:
    """Today on the calendar of the clients (Europe/Amsterdam)."""
    return utcnow().astimezone(AMSTERDAM).date()


def local_datetime(day: date, at: time) -> datetime:
    """A wall-clock time in Amsterdam as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=AMSTERDAM).astimezone(UTC)


class InhouseStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    PROPOSAL_SENT = "proposal_sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"  # by the client, with a reason
    EXPIRED = "expired"  # the proposal's validity date passed unanswered
    SCHEDULED = "scheduled"
    DELIVERED = "delivered"
    INVOICED = "invoiced"
    PAID = "paid"
    EVALUATED = "evaluated"
    CANCELLED = "cancelled"


S = InhouseStatus

STATUS_LABELS = {
    S.SUBMITTED: _l("Ingediend"),
    S.IN_REVIEW: _l("In behandeling"),
    S.PROPOSAL_SENT: _l("Voorstel verstuurd"),
    S.ACCEPTED: _l("Geaccepteerd"),
    S.DECLINED: _l("Afgewezen door klant"),
    S.EXPIRED: _l("Voorstel verlopen"),
    S.SCHEDULED: _l("Ingepland"),
    S.DELIVERED: _l("Gegeven"),
    S.INVOICED: _l("Gefactureerd"),
    S.PAID: _l("Betaald"),
    S.EVALUATED: _l("Geëvalueerd"),
    S.CANCELLED: _l("Geannuleerd"),
}

# The moves the issue allows. A revised proposal may follow a declined or expired one (the
# client asked for another date or price); everything before `delivered` may be cancelled.
ALLOWED_MOVES: dict[InhouseStatus, frozenset[InhouseStatus]] = {
    S.SUBMITTED: frozenset({S.IN_REVIEW, S.CANCELLED}),
    S.IN_REVIEW: frozenset({S.PROPOSAL_SENT, S.CANCELLED}),
    S.PROPOSAL_SENT: frozenset({S.ACCEPTED, S.DECLINED, S.EXPIRED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.DECLINED: frozenset({S.PROPOSAL_SENT, S.CANCELLED}),
    S.EXPIRED: frozenset({S.PROPOSAL_SENT, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.DELIVERED, S.CANCELLED}),
    S.DELIVERED: frozenset({S.INVOICED}),
    S.INVOICED: frozenset({S.PAID}),
    S.PAID: frozenset({S.EVALUATED}),
    S.EVALUATED: frozenset(),
    S.CANCELLED: frozenset(),
}
OPEN_STATUSES = frozenset(
    {S.SUBMITTED, S.IN_REVIEW, S.PROPOSAL_SENT, S.ACCEPTED, S.SCHEDULED, S.DELIVERED, S.INVOICED}
)
CLOSED_STATUSES = frozenset({S.DECLINED, S.EXPIRED, S.PAID, S.EVALUATED, S.CANCELLED})
# A client may withdraw a request until they accepted a proposal; after that staff cancel it
# (sessions, trainers and possibly costs are involved).
CLIENT_CANCELLABLE = frozenset({S.SUBMITTED, S.IN_REVIEW, S.PROPOSAL_SENT, S.DECLINED, S.EXPIRED})
# The client keeps the participant list up to date until the sessions were given.
PARTICIPANT_EDITABLE_STATUSES = frozenset(
    {S.SUBMITTED, S.IN_REVIEW, S.PROPOSAL_SENT, S.ACCEPTED, S.SCHEDULED}
)


class DeliveryMode(StrEnum):
    VENUE = "venue"
    ONLINE = "online"


DELIVERY_MODE_LABELS = {
    DeliveryMode.VENUE: _l("Op onze eigen locatie"),
    DeliveryMode.ONLINE: _l("Online"),
}


class PartOfDay(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


PART_OF_DAY_LABELS = {
    PartOfDay.MORNING: _l("ochtend"),
    PartOfDay.AFTERNOON: _l("middag"),
    PartOfDay.EVENING: _l("avond"),
}

ASSEMBLY_PHASE_LABELS = {
    "verkenning": _l("Verkenning"),
    "voorbereiding": _l("Voorbereiding"),
    "uitvoering": _l("Uitvoering"),
    "unknown": _l("Nog niet bekend"),
}


class ProposalStatus(StrEnum):
    DRAFT = "draft"  # staff are still writing it; the client does not see it
    OPEN = "open"  # the current version, waiting for the client
    SUPERSEDED = "superseded"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # the booking was cancelled while this version was open


PROPOSAL_STATUS_LABELS = {
    ProposalStatus.DRAFT: _l("Concept"),
    ProposalStatus.OPEN: _l("Openstaand"),
    ProposalStatus.SUPERSEDED: _l("Vervangen"),
    ProposalStatus.ACCEPTED: _l("Geaccepteerd"),
    ProposalStatus.DECLINED: _l("Afgewezen"),
    ProposalStatus.EXPIRED: _l("Verlopen"),
    ProposalStatus.WITHDRAWN: _l("Ingetrokken"),
}


class LineKind(StrEnum):
    SESSION_FEE = "session-fee"
    TRAVEL = "travel"
    MATERIALS = "materials"
    OTHER = "other"


LINE_KIND_LABELS = {
    LineKind.SESSION_FEE: _l("Sessie"),
    LineKind.TRAVEL: _l("Reiskosten"),
    LineKind.MATERIALS: _l("Materialen"),
    LineKind.OTHER: _l("Overig"),
}

# Timeline entries that are not a change of status.
EVENT_LABELS = {
    "created": _l("Aanvraag ingediend"),
    "proposal_revised": _l("Herzien voorstel verstuurd"),
    "session_added": _l("Sessie toegevoegd"),
    "session_moved": _l("Sessie gewijzigd"),
    "session_cancelled": _l("Sessie geannuleerd"),
    "participants_changed": _l("Deelnemerslijst gewijzigd"),
    "membership_confirmed": _l("Lidmaatschap organisatie bevestigd"),
    "stripe_invoice": _l("Factuur klaargezet voor online betaling"),
    "addendum_sent": _l("Aanvulling verstuurd"),
    "addendum_accepted": _l("Aanvulling geaccepteerd"),
    "addendum_included": _l("Aanvulling inbegrepen zonder meerprijs"),
    "addendum_withdrawn": _l("Aanvulling ingetrokken"),
}


_UNCHANGED = object()


def _status_check(column: str) -> str:
    return f"{column} IN ({', '.join(repr(s.value) for s in InhouseStatus)})"


class InhouseBooking(db.Model):
    __tablename__ = "inhouse_booking"
    __table_args__ = (
        CheckConstraint(_status_check("status"), name="status_known"),
        CheckConstraint("delivery_mode IN ('venue', 'online')", name="delivery_mode_known"),
        CheckConstraint(
            "assembly_phase IN ('verkenning', 'voorbereiding', 'uitvoering', 'unknown')",
            name="assembly_phase_known",
        ),
        CheckConstraint(
            "expected_participants >= 1 AND expected_participants <= 500",
            name="participants_range",
        ),
        Index("ix_inhouse_booking_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    # The requester named an organisation that already had an account: until staff confirm
    # that they belong to it, only they (and staff) see this request, and no proposal is sent.
    membership_pending: Mapped[bool] = mapped_column(default=False)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    expected_participants: Mapped[int]
    delivery_mode: Mapped[str] = mapped_column(String(10))
    venue: Mapped[str | None] = mapped_column(String(300))
    assembly_phase: Mapped[str] = mapped_column(String(20), default="unknown")
    assembly_context: Mapped[str] = mapped_column(Text, default="")
    questions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=S.SUBMITTED, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Filled on acceptance.
    po_number: Mapped[str | None] = mapped_column(String(100))
    billing_address: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice.id", ondelete="SET NULL"), unique=True
    )
    # Optimistic lock: two people acting on the same booking at once (two colleagues accepting,
    # staff revising while the client accepts) make the second UPDATE match no row, so its
    # transaction fails instead of silently doubling sessions. Works alike on SQLite.
    lock_version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": lock_version}

    course: Mapped[Course] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])
    invoice: Mapped[Invoice | None] = relationship()
    date_options: Mapped[list["InhouseDateOption"]] = relationship(
        cascade="all, delete-orphan", order_by="InhouseDateOption.position", lazy="selectin"
    )
    proposals: Mapped[list["InhouseProposal"]] = relationship(
        back_populates="booking",
        cascade="all, delete-orphan",
        order_by="InhouseProposal.version",
    )
    addenda: Mapped[list["InhouseAddendum"]] = relationship(
        back_populates="booking", cascade="all, delete-orphan", order_by="InhouseAddendum.number"
    )
    transitions: Mapped[list["InhouseTransition"]] = relationship(
        cascade="all, delete-orphan", order_by="InhouseTransition.id"
    )
    session_links: Mapped[list["InhouseSession"]] = relationship(
        cascade="all, delete-orphan", back_populates="booking"
    )
    participants: Mapped[list["InhouseParticipant"]] = relationship(
        cascade="all, delete-orphan", order_by="InhouseParticipant.name"
    )
    messages: Mapped[list["InhouseMessage"]] = relationship(
        cascade="all, delete-orphan", order_by="InhouseMessage.id"
    )

    # -- reading ---------------------------------------------------------------------------
    @property
    def reference(self) -> str:
        return f"IH-{self.id:05d}"

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def delivery_mode_label(self) -> str:
        return str(DELIVERY_MODE_LABELS.get(self.delivery_mode, self.delivery_mode))

    @property
    def assembly_phase_label(self) -> str:
        return str(ASSEMBLY_PHASE_LABELS.get(self.assembly_phase, self.assembly_phase))

    @property
    def sent_proposals(self) -> list["InhouseProposal"]:
        """The versions the client received; a draft is staff's own until it is sent."""
        return [p for p in self.proposals if p.status != ProposalStatus.DRAFT]

    @property
    def current_proposal(self) -> "InhouseProposal | None":
        sent = self.sent_proposals
        return sent[-1] if sent else None

    @property
    def draft_proposal(self) -> "InhouseProposal | None":
        return next((p for p in self.proposals if p.status == ProposalStatus.DRAFT), None)

    @property
    def accepted_proposal(self) -> "InhouseProposal | None":
        return next((p for p in self.proposals if p.status == ProposalStatus.ACCEPTED), None)

    @property
    def sessions(self) -> list[TrainingSession]:
        return sorted((link.session for link in self.session_links), key=lambda s: s.starts_at)

    @property
    def active_sessions(self) -> list[TrainingSession]:
        return [s for s in self.sessions if s.status == SessionStatus.SCHEDULED]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def proposal(self, version: int) -> "InhouseProposal | None":
        """A sent version (a draft has no number the client could know)."""
        return next((p for p in self.sent_proposals if p.version == version), None)

    # -- who may do what --------------------------------------------------------------------
    def can_view(self, user) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        if user.is_admin:
            return True
        return self.is_client_of(user)

    def is_client_of(self, user) -> bool:
        """The user speaks for the organisation in this booking (staff do not)."""
        if not getattr(user, "is_authenticated", False):
            return False
        if self.membership_pending:
            return user.id == self.requested_by_id
        return (
            user.is_client
            and user.organisation_id is not None
            and user.organisation_id == self.organisation_id
        )

    # -- the state machine ------------------------------------------------------------------
    def can_move_to(self, new_status: InhouseStatus | str) -> bool:
        return InhouseStatus(new_status) in ALLOWED_MOVES[InhouseStatus(self.status)]

    def move_to(
        self, new_status: InhouseStatus | str, *, by: User | None = None, note: str | None = None
    ) -> "InhouseTransition":
        """Change the status, refusing a move the process does not allow; records who and when
        in the timeline and the audit log."""
        new_status = InhouseStatus(new_status)
        if not self.can_move_to(new_status):
            raise DomainError(
                _l(
                    "Een aanvraag met status ‘%(current)s’ kan niet naar ‘%(new)s’.",
                    current=self.status_label,
                    new=STATUS_LABELS[new_status],
                )
            )
        old = self.status
        self.status = new_status
        self.status_changed_at = utcnow()
        return self.record_event("status", by=by, note=note, from_status=old, to_status=new_status)

    def record_event(
        self,
        action: str,
        *,
        by: User | None = None,
        note: str | None = None,
        from_status: str | None | object = _UNCHANGED,
        to_status: str | object = _UNCHANGED,
    ) -> "InhouseTransition":
        """One timeline line (and audit entry); without statuses, an event within the current
        status (a revised proposal, a moved session)."""
        entry = InhouseTransition(
            action=action,
            from_status=self.status if from_status is _UNCHANGED else from_status,
            to_status=self.status if to_status is _UNCHANGED else to_status,
            actor_id=getattr(by, "id", None),
            actor=by,
            note=(note or "").strip() or None,
        )
        self.transitions.append(entry)
        audit.record(
            f"inhouse.{action if action != 'status' else to_status}",
            self,
            actor=by,
            from_status=entry.from_status,
            to_status=entry.to_status,
            note=entry.note,
        )
        return entry

    def __str__(self) -> str:
        return f"{self.reference} {self.course.title} – {self.organisation.name}"


class InhouseDateOption(db.Model):
    __tablename__ = "inhouse_date_option"
    __table_args__ = (
        UniqueConstraint("booking_id", "position", name="uq_inhouse_date_option_position"),
        CheckConstraint("position >= 1 AND position <= 3", name="position_range"),
        CheckConstraint("part_of_day IN ('morning', 'afternoon', 'evening')", name="part_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("inhouse_booking.id", ondelete="CASCADE"))
    position: Mapped[int]
    day: Mapped[date] = mapped_column(Date)
    part_of_day: Mapped[str] = mapped_column(String(10))

    @property
    def part_of_day_label(self) -> str:
        return str(PART_OF_DAY_LABELS.get(self.part_of_day, self.part_of_day))


class InhouseTransition(db.Model):
    """One line of a booking's timeline: a change of status, or an event within one."""

    __tablename__ = "inhouse_transition"
    __table_args__ = (
        CheckConstraint(_status_check("to_status"), name="to_status_known"),
        CheckConstraint(
            f"from_status IS NULL OR {_status_check('from_status')}", name="from_status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("inhouse_booking.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(30), default="status")
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        if self.action == "status":
            return str(STATUS_LABELS.get(self.to_status, self.to_status))
        return str(EVENT_LABELS.get(self.action, self.action))


class InhouseSession(db.Model):
    """Links a training session to the inhouse booking it was scheduled for (the catalog's
    session model knows nothing of bookings)."""

    __tablename__ = "inhouse_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("inhouse_booking.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_session.id", ondelete="CASCADE"), unique=True
    )

    booking: Mapped[InhouseBooking] = relationship(back_populates="session_links")
    session: Mapped[TrainingSession] = relationship(lazy="joined")


class InhouseParticipant(db.Model):
    """Someone of the client's organisation who takes part; entered by the client."""

    __tablename__ = "inhouse_participant"
    __table_args__ = (UniqueConstraint("booking_id", "email", name="uq_inhouse_participant_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("inhouse_booking.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str | None] = mapped_column(String(100))  # e.g. raadslid, griffier
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InhouseMessage(db.Model):
    __tablename__ = "inhouse_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("inhouse_booking.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    from_staff: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")


class InhouseStripeObject(db.Model):
    """Stripe objects we reuse across invoices: a customer per organisation and contact person,
    a tax rate per VAT percentage."""

    __tablename__ = "inhouse_stripe_object"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_inhouse_stripe_object_kind_key"),
        CheckConstraint("kind IN ('customer', 'tax_rate')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(300))  # "<organisation id>:<email>", "21.00"
    stripe_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
