"""The proposal of an inhouse booking: a draft staff write, then each version they send, with its
sessions and price lines; the client accepts or declines one version. A sent version keeps a
snapshot of what its PDF prints, so it reads the same whatever changes later. An addendum prices
a session added after acceptance.
"""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import format_currency
from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...auth.models import User
from ...courses.models import AMSTERDAM, TrainingSession
from ...db_types import UTCDateTime, utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..billing.amounts import MoneyLine, line_amount, line_totals
from .models import (
    LINE_KIND_LABELS,
    PROPOSAL_STATUS_LABELS,
    InhouseBooking,
    ProposalStatus,
    today_amsterdam,
)


class InhouseProposal(db.Model):
    __tablename__ = "inhouse_proposal"
    __table_args__ = (
        UniqueConstraint("booking_id", "version", name="uq_inhouse_proposal_version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("vat_rate >= 0 AND vat_rate <= 100", name="vat_rate_range"),
        CheckConstraint(
            "status IN ('draft', 'open', 'superseded', 'accepted', 'declined', 'expired', "
            "'withdrawn')",
            name="status_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("inhouse_booking.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=ProposalStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    valid_until: Mapped[date] = mapped_column(Date)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    # Offered without VAT to a business in another member state (bbtraining/vat.py).
    reverse_charge: Mapped[bool] = mapped_column(default=False, server_default=false())
    terms: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")  # a word to the client with this version
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the PDF prints besides the rows below (parties, course, sessions), frozen on sending
    # so that a later billing address or renamed trainer does not change a sent version.
    snapshot: Mapped[dict | None] = mapped_column(JSON)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_name: Mapped[str | None] = mapped_column(String(200))

    booking: Mapped[InhouseBooking] = relationship(back_populates="proposals")
    created_by: Mapped[User | None] = relationship()
    sessions: Mapped[list["InhouseProposalSession"]] = relationship(
        cascade="all, delete-orphan", order_by="InhouseProposalSession.starts_at", lazy="selectin"
    )
    lines: Mapped[list["InhouseProposalLine"]] = relationship(
        cascade="all, delete-orphan", order_by="InhouseProposalLine.position", lazy="selectin"
    )

    @property
    def status_label(self) -> str:
        return str(PROPOSAL_STATUS_LABELS.get(self.status, self.status))

    @property
    def superseded(self) -> bool:
        return self.status == ProposalStatus.SUPERSEDED

    @property
    def is_draft(self) -> bool:
        return self.status == ProposalStatus.DRAFT

    @property
    def issue_date(self) -> date:
        return (self.sent_at or self.created_at).astimezone(AMSTERDAM).date()

    def money_lines(self) -> list[MoneyLine]:
        return [line.as_money_line(self.vat_rate) for line in self.lines]

    @property
    def totals(self) -> tuple[Decimal, list[tuple[Decimal, Decimal]], Decimal]:
        return line_totals(self.money_lines())

    def is_expired(self, today: date | None = None) -> bool:
        """Valid through its validity date, Amsterdam time."""
        today = today or today_amsterdam()
        return today > self.valid_until


class InhouseProposalSession(db.Model):
    __tablename__ = "inhouse_proposal_session"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("inhouse_proposal.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    location: Mapped[str] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(500))

    trainer: Mapped[User | None] = relationship(lazy="joined")

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(AMSTERDAM)

    @property
    def local_end(self) -> datetime:
        return self.ends_at.astimezone(AMSTERDAM)


class InhouseProposalLine(db.Model):
    __tablename__ = "inhouse_proposal_line"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('session-fee', 'travel', 'materials', 'other')", name="kind_known"
        ),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("inhouse_proposal.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # excluding VAT

    @property
    def kind_label(self) -> str:
        return str(LINE_KIND_LABELS.get(self.kind, self.kind))

    def as_money_line(self, vat_rate: Decimal) -> MoneyLine:
        return MoneyLine(self.description, self.quantity, self.unit_price, vat_rate)

    @property
    def amount(self) -> Decimal:
        """Excluding VAT, rounded as on the PDF."""
        return line_amount(self.as_money_line(Decimal(0)))


class AddendumStatus:
    OPEN = "open"  # waiting for the client
    ACCEPTED = "accepted"  # by the client: its amount goes on the booking's invoice
    INCLUDED = "included"  # staff: no extra charge, for the reason given
    WITHDRAWN = "withdrawn"  # the session was cancelled before the client answered


ADDENDUM_STATUS_LABELS = {
    AddendumStatus.OPEN: _l("Wacht op akkoord"),
    AddendumStatus.ACCEPTED: _l("Geaccepteerd"),
    AddendumStatus.INCLUDED: _l("Inbegrepen, zonder meerprijs"),
    AddendumStatus.WITHDRAWN: _l("Ingetrokken"),
}


class InhouseAddendum(db.Model):
    """The price of a session added after the client accepted the proposal. The client accepts
    it like a proposal, or staff mark it as included (with a reason); an accepted addendum is a
    line on the booking's one invoice, which comes after delivery (no session can be added after
    that, so there is never a second invoice)."""

    __tablename__ = "inhouse_addendum"
    __table_args__ = (
        UniqueConstraint("booking_id", "number", name="uq_inhouse_addendum_number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "status IN ('open', 'accepted', 'included', 'withdrawn')", name="status_known"
        ),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("vat_rate >= 0 AND vat_rate <= 100", name="vat_rate_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("inhouse_booking.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_session.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default=AddendumStatus.OPEN)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # excluding VAT
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_by_name: Mapped[str | None] = mapped_column(String(200))  # as it was then
    reason: Mapped[str | None] = mapped_column(Text)  # why staff included it

    booking: Mapped[InhouseBooking] = relationship(back_populates="addenda")
    session: Mapped[TrainingSession | None] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return str(ADDENDUM_STATUS_LABELS.get(self.status, self.status))

    @property
    def is_open(self) -> bool:
        return self.status == AddendumStatus.OPEN

    def money_line(self) -> MoneyLine:
        return MoneyLine(self.description, self.quantity, self.unit_price, self.vat_rate)

    @property
    def summary(self) -> str:
        """One line for the timeline."""
        return _(
            "Aanvulling %(number)s: %(description)s, %(amount)s excl. btw",
            number=self.number,
            description=self.description,
            amount=format_currency(self.totals[0], "EUR"),
        )

    def decide(self, status: str, *, by: User, reason: str | None = None) -> None:
        """The answer to an open addendum: accepted by the client, included or withdrawn by
        staff; who answered is kept by name, as it was then."""
        if not self.is_open:
            raise DomainError(
                _l(
                    "Aanvulling %(number)s is al afgehandeld (%(status)s).",
                    number=self.number,
                    status=self.status_label,
                )
            )
        self.status = status
        self.decided_at = utcnow()
        self.decided_by_id = by.id
        self.decided_by_name = by.name
        if status == AddendumStatus.INCLUDED:
            self.unit_price = Decimal(0)
            self.reason = reason

    @property
    def totals(self) -> tuple[Decimal, list[tuple[Decimal, Decimal]], Decimal]:
        return line_totals([self.money_line()])
