"""Enrollments in open editions and the waiting list in front of them.

Capacity lives on `Edition.seats_taken` (held + confirmed enrollments + seats reserved by open
waiting-list offers); the services move it with a conditional UPDATE and the CHECK constraint on
the edition is the backstop. The rows here say who holds which seat, why, and what was paid.
"""

import secrets
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ... import audit
from ...auth.models import User
from ...courses.models import AMSTERDAM, Course, Edition
from ...db_types import UTCDateTime, utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..billing.amounts import MoneyLine, line_totals
from ..billing.invoices import Invoice


class EnrollmentStatus(StrEnum):
    HELD = "held"  # seat held while payment is pending
    CONFIRMED = "confirmed"
    EXPIRED = "expired"  # the hold lapsed (Checkout expired, payment failed)
    CANCELLED = "cancelled"


ACTIVE_ENROLLMENT_STATUSES = (EnrollmentStatus.HELD, EnrollmentStatus.CONFIRMED)

ENROLLMENT_STATUS_LABELS = {
    EnrollmentStatus.HELD: _l("Wacht op betaling"),
    EnrollmentStatus.CONFIRMED: _l("Bevestigd"),
    EnrollmentStatus.EXPIRED: _l("Verlopen"),
    EnrollmentStatus.CANCELLED: _l("Geannuleerd"),
}


class PayBy(StrEnum):
    STRIPE = "stripe"  # Checkout: iDEAL or card
    INVOICE = "invoice"  # invoice, paid by bank transfer


PAY_BY_LABELS = {
    PayBy.STRIPE: _l("iDEAL of creditcard"),
    PayBy.INVOICE: _l("Factuur (bankoverschrijving)"),
}


class PaymentStatus(StrEnum):
    PENDING = "pending"  # Checkout open
    PROCESSING = "processing"  # a delayed method (SEPA, some iDEAL banks) has not settled yet
    PAID = "paid"
    DUE = "due"  # invoice issued, not paid yet
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially-refunded"
    NONE = "none"  # nothing to pay (free edition) or nothing was ever paid


PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING: _l("Betaling open"),
    PaymentStatus.PROCESSING: _l("Betaling wordt verwerkt"),
    PaymentStatus.PAID: _l("Betaald"),
    PaymentStatus.DUE: _l("Factuur open"),
    PaymentStatus.FAILED: _l("Betaling mislukt"),
    PaymentStatus.REFUNDED: _l("Terugbetaald"),
    PaymentStatus.PARTIALLY_REFUNDED: _l("Deels terugbetaald"),
    PaymentStatus.NONE: _l("Geen betaling"),
}

CENT = Decimal("0.01")


def _token() -> str:
    return secrets.token_urlsafe(12)


class Enrollment(db.Model):
    __tablename__ = "enrollment"
    __table_args__ = (
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint(
            "status IN ('held', 'confirmed', 'expired', 'cancelled')", name="status_known"
        ),
        CheckConstraint("pay_by IN ('stripe', 'invoice')", name="pay_by_known"),
        CheckConstraint(
            "payment_status IN ('pending', 'processing', 'paid', 'due', 'failed', 'refunded', "
            "'partially-refunded', 'none')",
            name="payment_status_known",
        ),
        CheckConstraint("unit_price >= 0", name="unit_price_positive"),
        CheckConstraint("status != 'held' OR hold_expires_at IS NOT NULL", name="held_expires"),
        # One active enrollment per person and edition, whatever races the application loses.
        Index(
            "uq_enrollment_active_per_user",
            "user_id",
            "edition_id",
            unique=True,
            postgresql_where=text("status IN ('held', 'confirmed')"),
            sqlite_where=text("status IN ('held', 'confirmed')"),
        ),
        Index("ix_enrollment_edition_status", "edition_id", "status"),
        Index("ix_enrollment_status_hold", "status", "hold_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random per enrollment: part of Stripe idempotency keys, so an id reused after a rollback
    # (SQLite reuses the highest id) can never replay another enrollment's Checkout Session.
    token: Mapped[str] = mapped_column(String(32), unique=True, default=_token)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    seats: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(12), default=EnrollmentStatus.HELD)
    pay_by: Mapped[str] = mapped_column(String(10))
    payment_status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.PENDING)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Billing details as given at enrollment; the invoice copies them.
    billing_name: Mapped[str] = mapped_column(String(200))
    billing_organisation: Mapped[str | None] = mapped_column(String(200))
    billing_street: Mapped[str] = mapped_column(String(200))
    billing_postcode: Mapped[str] = mapped_column(String(20))
    billing_city: Mapped[str] = mapped_column(String(100))
    billing_country: Mapped[str] = mapped_column(String(2), default="NL")
    vat_number: Mapped[str | None] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(100))

    # Price snapshot: what this person was shown and agreed to.
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # excluding VAT, per seat
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    # Invoiced without VAT, the buyer accounting for it (bbtraining/vat.py); vat_rate is then 0.
    reverse_charge: Mapped[bool] = mapped_column(default=False, server_default=false())

    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    credit_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))

    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_session_url: Mapped[str | None] = mapped_column(String(1000))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_attempts: Mapped[int] = mapped_column(default=0)
    amount_paid: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    amount_refunded: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))

    # The waiting-list entry whose offer this enrollment took up, if any.
    waitlist_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("waitlist_entry.id", ondelete="SET NULL")
    )

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # expired or cancelled
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    edition: Mapped[Edition] = relationship(lazy="joined")
    invoice: Mapped[Invoice | None] = relationship(foreign_keys=[invoice_id])
    credit_invoice: Mapped[Invoice | None] = relationship(foreign_keys=[credit_invoice_id])
    # Every seat row ever (replaced ones too); none for a booker who enrolled only themselves.
    seat_rows: Mapped[list["EnrollmentSeat"]] = relationship(
        back_populates="enrollment",
        order_by="(EnrollmentSeat.position, EnrollmentSeat.id)",
        cascade="all, delete-orphan",
    )

    # -- reading --------------------------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_ENROLLMENT_STATUSES

    @property
    def status_label(self) -> str:
        return str(ENROLLMENT_STATUS_LABELS.get(self.status, self.status))

    @property
    def is_group(self) -> bool:
        """Named seats: each seat is its own participant (the booker only if they hold one)."""
        return bool(self.seat_rows)

    @property
    def active_seats(self) -> list["EnrollmentSeat"]:
        return [seat for seat in self.seat_rows if seat.status == SeatStatus.ACTIVE]

    @property
    def payment_label(self) -> str:
        return str(PAYMENT_STATUS_LABELS.get(self.payment_status, self.payment_status))

    @property
    def pay_by_label(self) -> str:
        return str(PAY_BY_LABELS.get(self.pay_by, self.pay_by))

    @property
    def line_title(self) -> str:
        """The training and its date, as an invoice line names them."""
        edition = self.edition
        start = edition.starts_at
        when = f" ({start.astimezone(AMSTERDAM).strftime('%d-%m-%Y')})" if start else ""
        return f"{edition.course.title}{when}"

    def money_line(self) -> MoneyLine:
        description = self.line_title
        names = [seat.name for seat in self.active_seats if seat.is_named]
        if names:  # the invoice of a group says who the seats are for
            description = f"{description}: {', '.join(names)}"[:500]
        return MoneyLine(description, Decimal(self.seats), self.unit_price, self.vat_rate)

    @property
    def subtotal(self) -> Decimal:
        return line_totals([self.money_line()])[0]

    @property
    def total(self) -> Decimal:
        """What this enrollment costs including VAT, computed as the invoice computes it."""
        return line_totals([self.money_line()])[2]

    @property
    def billing_address_lines(self) -> list[str]:
        lines = []
        if self.billing_organisation:
            lines.append(str(_l("t.a.v. %(name)s", name=self.billing_name)))
        lines += [self.billing_street, f"{self.billing_postcode} {self.billing_city}".strip()]
        if self.billing_country and self.billing_country != "NL":
            lines.append(self.billing_country)
        return [line for line in lines if line]

    @property
    def billing_party_name(self) -> str:
        return self.billing_organisation or self.billing_name

    def can_view(self, user) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        return user.is_admin or user.id == self.user_id

    # -- transitions: each refuses a move that makes no sense ------------------------------------
    def _refuse(self, message) -> None:
        raise DomainError(message)

    def confirm(self, *, by=None, **data) -> None:
        if self.status == EnrollmentStatus.CONFIRMED:
            return
        if self.status != EnrollmentStatus.HELD:
            self._refuse(_l("Deze inschrijving kan niet meer worden bevestigd."))
        self.status = EnrollmentStatus.CONFIRMED
        self.confirmed_at = utcnow()
        self.hold_expires_at = None
        audit.record("enrollment.confirmed", self, actor=by, **data)

    def expire(self, *, reason: str, by=None) -> None:
        if self.status != EnrollmentStatus.HELD:
            self._refuse(_l("Alleen een reservering die op betaling wacht kan verlopen."))
        self.status = EnrollmentStatus.EXPIRED
        self.ended_at = utcnow()
        if self.payment_status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
            self.payment_status = (
                PaymentStatus.FAILED if reason == "payment-failed" else PaymentStatus.NONE
            )
        audit.record("enrollment.expired", self, actor=by, reason=reason)

    def revive(self, *, by=None) -> None:
        """A payment arrived after the hold lapsed and the seat could be taken again."""
        if self.status != EnrollmentStatus.EXPIRED:
            self._refuse(_l("Deze inschrijving is niet verlopen."))
        self.status = EnrollmentStatus.HELD
        self.ended_at = None
        self.hold_expires_at = utcnow()
        audit.record("enrollment.revived", self, actor=by)

    def cancel(self, *, by=None, reason: str | None = None) -> None:
        if self.status not in ACTIVE_ENROLLMENT_STATUSES:
            self._refuse(_l("Deze inschrijving is al beëindigd."))
        previous = self.status
        self.status = EnrollmentStatus.CANCELLED
        self.ended_at = utcnow()
        self.hold_expires_at = None
        self.cancel_reason = reason or None
        self.cancelled_by_id = getattr(by, "id", None)
        audit.record("enrollment.cancelled", self, actor=by, previous=previous, reason=reason)

    def mark_paid(self, amount: Decimal, *, by=None, via: str) -> None:
        if self.payment_status == PaymentStatus.PAID:
            return
        if self.payment_status in (PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED):
            self._refuse(_l("Deze inschrijving is al terugbetaald."))
        self.payment_status = PaymentStatus.PAID
        self.amount_paid = amount
        self.paid_at = utcnow()
        audit.record("enrollment.paid", self, actor=by, amount=str(amount), via=via)

    def record_refund(self, total_refunded: Decimal, *, by=None, source: str) -> bool:
        """Set what has been refunded so far (a running total, so replays change nothing)."""
        total_refunded = total_refunded.quantize(CENT)
        if total_refunded <= self.amount_refunded:
            return False
        self.amount_refunded = total_refunded
        if self.amount_paid and total_refunded >= self.amount_paid:
            self.payment_status = PaymentStatus.REFUNDED
        else:
            self.payment_status = PaymentStatus.PARTIALLY_REFUNDED
        audit.record("enrollment.refunded", self, actor=by, total=str(total_refunded), via=source)
        return True

    def __repr__(self) -> str:
        return f"<Enrollment {self.id} {self.status} user={self.user_id} edition={self.edition_id}>"


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # seats reserved for this entry until offer_expires_at
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LAPSED = "lapsed"  # the offer expired unanswered
    LEFT = "left"
    CLOSED = "closed"  # the edition was cancelled


ACTIVE_WAITLIST_STATUSES = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)

WAITLIST_STATUS_LABELS = {
    WaitlistStatus.WAITING: _l("Op de wachtlijst"),
    WaitlistStatus.OFFERED: _l("Plaats aangeboden"),
    WaitlistStatus.ACCEPTED: _l("Aanbod geaccepteerd"),
    WaitlistStatus.DECLINED: _l("Aanbod afgewezen"),
    WaitlistStatus.LAPSED: _l("Aanbod verlopen"),
    WaitlistStatus.LEFT: _l("Van de wachtlijst af"),
    WaitlistStatus.CLOSED: _l("Wachtlijst gesloten"),
}


class WaitlistEntry(db.Model):
    __tablename__ = "waitlist_entry"
    __table_args__ = (
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint(
            "status IN ('waiting', 'offered', 'accepted', 'declined', 'lapsed', 'left', 'closed')",
            name="status_known",
        ),
        CheckConstraint(
            "status != 'offered' OR (offered_edition_id IS NOT NULL "
            "AND offer_expires_at IS NOT NULL)",
            name="offer_complete",
        ),
        Index(
            "uq_waitlist_entry_active_per_user",
            "user_id",
            "edition_id",
            unique=True,
            postgresql_where=text("status IN ('waiting', 'offered')"),
            sqlite_where=text("status IN ('waiting', 'offered')"),
        ),
        Index("ix_waitlist_entry_queue", "course_id", "status", "created_at"),
        Index("ix_waitlist_entry_offers", "status", "offer_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("edition.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    seats: Mapped[int] = mapped_column(default=1)
    # The person also takes a seat in another edition of the same course.
    any_edition: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=WaitlistStatus.WAITING)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped with every offer: a link from an earlier offer no longer works.
    offer_round: Mapped[int] = mapped_column(default=0)
    offered_edition_id: Mapped[int | None] = mapped_column(ForeignKey("edition.id"))
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")
    edition: Mapped[Edition] = relationship(foreign_keys=[edition_id], lazy="joined")
    offered_edition: Mapped[Edition | None] = relationship(foreign_keys=[offered_edition_id])
    course: Mapped[Course] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_WAITLIST_STATUSES

    @property
    def status_label(self) -> str:
        return str(WAITLIST_STATUS_LABELS.get(self.status, self.status))

    def can_view(self, user) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        return user.is_admin or user.id == self.user_id

    def offer(self, edition: Edition, expires_at: datetime) -> None:
        if self.status != WaitlistStatus.WAITING:
            raise DomainError(_l("Deze wachtlijstplaats wacht niet meer op een aanbod."))
        self.status = WaitlistStatus.OFFERED
        self.offer_round += 1
        self.offered_edition_id = edition.id
        self.offered_edition = edition
        self.offered_at = utcnow()
        self.offer_expires_at = expires_at
        audit.record(
            "waitlist.offered",
            self,
            actor=None,
            edition=edition.id,
            seats=self.seats,
            expires_at=expires_at,
        )

    def end(self, status: WaitlistStatus, *, by=None, **data) -> None:
        allowed = {
            WaitlistStatus.ACCEPTED: (WaitlistStatus.OFFERED,),
            WaitlistStatus.DECLINED: (WaitlistStatus.OFFERED,),
            WaitlistStatus.LAPSED: (WaitlistStatus.OFFERED,),
            WaitlistStatus.LEFT: ACTIVE_WAITLIST_STATUSES,
            WaitlistStatus.CLOSED: ACTIVE_WAITLIST_STATUSES,
        }
        if self.status not in allowed.get(status, ()):
            raise DomainError(_l("Deze wachtlijstplaats is al afgehandeld."))
        previous = self.status
        self.status = status
        self.ended_at = utcnow()
        audit.record(f"waitlist.{status}", self, actor=by, previous=previous, **data)

    def __repr__(self) -> str:
        return f"<WaitlistEntry {self.id} {self.status} user={self.user_id} seats={self.seats}>"


class SeatStatus(StrEnum):
    ACTIVE = "active"
    REPLACED = "replaced"  # the booker named someone else for this seat
    CANCELLED = "cancelled"


class EnrollmentSeat(db.Model):
    """One seat of a group enrollment and who takes it. Replacing a colleague ends the row and
    starts a new one at the same position, so the old person's participant key (and with it
    their invite) disappears and the new person's appears. A seat without a name yet (filled in
    later by the booker) takes capacity but is no participant."""

    __tablename__ = "enrollment_seat"
    __table_args__ = (
        CheckConstraint("position >= 1", name="position_positive"),
        CheckConstraint("status IN ('active', 'replaced', 'cancelled')", name="status_known"),
        CheckConstraint("(name IS NULL) = (email IS NULL)", name="named_fully"),
        # One person per seat, whatever concurrent renames the application loses.
        Index(
            "uq_enrollment_seat_active_position",
            "enrollment_id",
            "position",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        Index("ix_enrollment_seat_email", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollment.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default=SeatStatus.ACTIVE)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    # The holder's account when one exists with this address (the booker's own seat, mostly).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enrollment: Mapped[Enrollment] = relationship(back_populates="seat_rows")
    user: Mapped[User | None] = relationship()

    @property
    def is_named(self) -> bool:
        return self.email is not None

    @property
    def participant_key(self) -> str:
        return f"seat:{self.id}"

    def end(self, status: SeatStatus) -> None:
        if self.status != SeatStatus.ACTIVE:
            raise DomainError(_l("Deze plaats is al gewijzigd. Ververs de pagina."))
        self.status = status
        self.ended_at = utcnow()

    def __repr__(self) -> str:
        return f"<EnrollmentSeat {self.id} {self.status} #{self.position} {self.email}>"
