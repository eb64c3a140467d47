"""Enrollment and waiting-list rules. Functions flush, never commit; the caller commits once.

Seats: `Edition.seats_taken` counts held and confirmed enrollments plus seats reserved by open
waiting-list offers. It only moves through `_take_seats` (a conditional UPDATE that succeeds
only while `seats_taken + n <= capacity`) and `_release_seats`, in the same transaction as the
row that explains the move, so a rollback undoes both. The CHECK constraint on `edition` is the
backstop: no code path can commit an overbooked edition.

Every freed seat goes to the waiting list first (`offer_next_seats`): a waiting person's offer
reserves the seat, so a newcomer cannot take it from under them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ... import audit
from ...auth.models import User
from ...courses.models import Edition, EditionStatus, TrainingSession
from ...courses.signals import edition_changed
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ...notifications.services import queue_mail
from ...urls import public_url
from ..billing.invoices import (
    Invoice,
    InvoiceStatus,
    PaymentMethod,
    invoice_paid,
    issue_credit_invoice,
    issue_invoice,
)
from ..sessions.invites import sync_edition_invites
from ..sessions.participants import Participant, register_provider, register_sessions_provider
from .models import (
    ACTIVE_ENROLLMENT_STATUSES,
    ACTIVE_WAITLIST_STATUSES,
    CENT,
    Enrollment,
    EnrollmentStatus,
    PayBy,
    PaymentStatus,
    WaitlistEntry,
    WaitlistStatus,
)

log = logging.getLogger(__name__)

# Stripe refuses a Checkout Session that expires sooner than 30 minutes after creation.
STRIPE_MIN_HOLD = timedelta(minutes=31)


# -- settings (config keys with defaults, so a missing key never breaks a request) --------------
def hold_minutes() -> int:
    return int(current_app.config.get("ENROLLMENT_HOLD_MINUTES", 30))


def offer_hours() -> int:
    return int(current_app.config.get("WAITLIST_OFFER_HOURS", 48))


def processing_hold_hours() -> int:
    return int(current_app.config.get("ENROLLMENT_PROCESSING_HOLD_HOURS", 72))


def invoice_due_days() -> int:
    return int(current_app.config.get("ENROLLMENT_INVOICE_DUE_DAYS", 14))


def max_group_seats() -> int:
    return int(current_app.config.get("WAITLIST_MAX_GROUP", 10))


# -- errors ---------------------------------------------------------------------------------------
class EnrollmentClosed(DomainError):
    pass


class EditionFull(DomainError):
    """No seat left: the caller offers the waiting list."""


class AlreadyEnrolled(DomainError):
    pass


# -- billing --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Billing:
    name: str
    street: str
    postcode: str
    city: str
    country: str = "NL"
    organisation: str | None = None
    vat_number: str | None = None
    reference: str | None = None


# -- seats ----------------------------------------------------------------------------------------
def _take_seats(edition: Edition, seats: int) -> bool:
    """Take `seats` if they are free, atomically; False when the edition cannot hold them.

    On PostgreSQL a concurrent UPDATE of the same row waits for the other transaction and then
    re-checks the WHERE clause on the committed row; SQLite serialises writers. Either way two
    requests can never both take the last seat.
    """
    result = db.session.execute(
        update(Edition)
        .where(Edition.id == edition.id, Edition.seats_taken + seats <= Edition.capacity)
        .values(seats_taken=Edition.seats_taken + seats)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(edition, ["seats_taken"])
    return result.rowcount == 1


def _release_seats(edition: Edition, seats: int) -> None:
    result = db.session.execute(
        update(Edition)
        .where(Edition.id == edition.id, Edition.seats_taken >= seats)
        .values(seats_taken=Edition.seats_taken - seats)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # a counter out of step is a bug; never let it go negative
        log.error("edition %s: releasing %s seats found fewer taken", edition.id, seats)
    db.session.expire(edition, ["seats_taken"])


def seats_free(edition: Edition) -> int:
    taken, capacity = db.session.execute(
        select(Edition.seats_taken, Edition.capacity).where(Edition.id == edition.id)
    ).one()
    return max(capacity - taken, 0)


def lock_enrollment(enrollment_id: int) -> Enrollment | None:
    """Load an enrollment and keep others from changing it until this transaction ends.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has no row locks, but its single writer lock does
    the same once we hold it, so a no-op UPDATE takes it before we read.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment_id)
            .values(status=Enrollment.status)
            .execution_options(synchronize_session=False)
        )
        return db.session.get(Enrollment, enrollment_id, populate_existing=True)
    return db.session.scalar(
        select(Enrollment)
        .where(Enrollment.id == enrollment_id)
        .with_for_update(of=Enrollment)
        .execution_options(populate_existing=True)
    )


def _lock_entry(entry_id: int) -> WaitlistEntry | None:
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id)
            .values(status=WaitlistEntry.status)
            .execution_options(synchronize_session=False)
        )
        return db.session.get(WaitlistEntry, entry_id, populate_existing=True)
    return db.session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id)
        .with_for_update(of=WaitlistEntry)
        .execution_options(populate_existing=True)
    )


# -- reading --------------------------------------------------------------------------------------
def active_enrollment(edition: Edition, user: User) -> Enrollment | None:
    return db.session.scalar(
        select(Enrollment).where(
            Enrollment.edition_id == edition.id,
            Enrollment.user_id == user.id,
            Enrollment.status.in_(ACTIVE_ENROLLMENT_STATUSES),
        )
    )


def active_waitlist_entry(edition: Edition, user: User) -> WaitlistEntry | None:
    return db.session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.edition_id == edition.id,
            WaitlistEntry.user_id == user.id,
            WaitlistEntry.status.in_(ACTIVE_WAITLIST_STATUSES),
        )
    )


def user_enrollments(user: User) -> list[Enrollment]:
    return list(
        db.session.scalars(
            select(Enrollment)
            .where(Enrollment.user_id == user.id)
            .order_by(Enrollment.created_at.desc(), Enrollment.id.desc())
        )
    )


def user_waitlist_entries(user: User, *, active_only: bool = True) -> list[WaitlistEntry]:
    query = select(WaitlistEntry).where(WaitlistEntry.user_id == user.id)
    if active_only:
        query = query.where(WaitlistEntry.status.in_(ACTIVE_WAITLIST_STATUSES))
    return list(db.session.scalars(query.order_by(WaitlistEntry.created_at)))


def edition_enrollments(edition: Edition) -> list[Enrollment]:
    return list(
        db.session.scalars(
            select(Enrollment)
            .where(Enrollment.edition_id == edition.id)
            .order_by(Enrollment.created_at, Enrollment.id)
        )
    )


def _queue_order():
    return (WaitlistEntry.created_at, WaitlistEntry.id)


def waitlist_queue(edition: Edition) -> list[WaitlistEntry]:
    """Who waits for a seat in this edition, first in line first.

    Entries for this edition, and entries for another edition of the same course whose owner
    also takes a seat elsewhere (`any_edition`).
    """
    return list(
        db.session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.status == WaitlistStatus.WAITING,
                or_(
                    WaitlistEntry.edition_id == edition.id,
                    and_(
                        WaitlistEntry.any_edition.is_(True),
                        WaitlistEntry.course_id == edition.course_id,
                    ),
                ),
            )
            .order_by(*_queue_order())
        )
    )


def edition_waitlist(edition: Edition) -> list[WaitlistEntry]:
    """Every entry that names this edition or holds an offer for it (admin view)."""
    return list(
        db.session.scalars(
            select(WaitlistEntry)
            .where(
                or_(
                    WaitlistEntry.edition_id == edition.id,
                    WaitlistEntry.offered_edition_id == edition.id,
                )
            )
            .order_by(*_queue_order())
        )
    )


def waitlist_position(entry: WaitlistEntry) -> int | None:
    """1 for the first in line for the entry's own edition; None when not waiting."""
    if entry.status != WaitlistStatus.WAITING:
        return None
    ahead = db.session.scalar(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.edition_id == entry.edition_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            or_(
                WaitlistEntry.created_at < entry.created_at,
                and_(WaitlistEntry.created_at == entry.created_at, WaitlistEntry.id < entry.id),
            ),
        )
    )
    return int(ahead or 0) + 1


# -- policy ---------------------------------------------------------------------------------------
def free_cancellation_deadline(edition: Edition) -> datetime | None:
    start = edition.starts_at
    if start is None:
        return None
    return start - timedelta(days=edition.free_cancellation_days)


def participant_may_cancel(enrollment: Enrollment, now: datetime | None = None) -> bool:
    if not enrollment.is_active:
        return False
    if enrollment.status == EnrollmentStatus.HELD:
        # Nothing paid yet: letting the seat go is fine, unless the bank is still settling.
        return enrollment.payment_status != PaymentStatus.PROCESSING
    deadline = free_cancellation_deadline(enrollment.edition)
    return deadline is None or (now or utcnow()) <= deadline


def refund_fraction(enrollment: Enrollment, mode: str, now: datetime | None = None) -> Decimal:
    """Share of the price that is refunded or credited: 'full', 'none' or 'policy'."""
    if mode == "full":
        return Decimal(1)
    if mode == "none":
        return Decimal(0)
    deadline = free_cancellation_deadline(enrollment.edition)
    if deadline is None or (now or utcnow()) <= deadline:
        return Decimal(1)
    return Decimal(enrollment.edition.late_refund_percent) / Decimal(100)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# -- enrolling ------------------------------------------------------------------------------------
def _check_open(edition: Edition, now: datetime | None = None) -> None:
    now = now or utcnow()
    if edition.status == EditionStatus.CANCELLED:
        raise EnrollmentClosed(_l("Deze editie is geannuleerd. Inschrijven is niet mogelijk."))
    if not edition.enrollment_open(now):
        if edition.enrollment_deadline is not None and now > edition.enrollment_deadline:
            raise EnrollmentClosed(
                _l(
                    "De inschrijving voor deze editie is gesloten: de uiterste inschrijfdatum "
                    "is verstreken."
                )
            )
        raise EnrollmentClosed(_l("Inschrijven voor deze editie is niet (meer) mogelijk."))
    if edition.unit_price is None:
        raise EnrollmentClosed(
            _l("Inschrijven kan nog niet: de prijs van deze editie is nog niet bekend.")
        )


def _check_not_enrolled(edition: Edition, user: User) -> None:
    if active_enrollment(edition, user) is not None:
        raise AlreadyEnrolled(
            _l(
                "U bent al ingeschreven voor deze editie. Zie uw inschrijvingen onder "
                "Mijn overzicht."
            )
        )


def _check_payment_method(pay_by: str, total: Decimal) -> None:
    from ..billing.stripe_client import stripe_enabled

    if pay_by not in (PayBy.STRIPE, PayBy.INVOICE):
        raise DomainError(_l("Kies hoe u wilt betalen."), field="pay_by")
    if pay_by == PayBy.STRIPE and total > 0 and not stripe_enabled():
        raise DomainError(
            _l("Betalen met iDEAL of creditcard is nu niet mogelijk. Kies betalen op factuur."),
            field="pay_by",
        )


def _insert(enrollment: Enrollment) -> Enrollment:
    # No savepoint: pysqlite commits one on its own when it is a transaction's first statement.
    # A refused insert has spoilt the transaction anyway, so it is rolled back here (the caller
    # would, and the error message's locale lookup must be able to load the user again).
    db.session.add(enrollment)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise AlreadyEnrolled(
            _l(
                "U bent al ingeschreven voor deze editie. Zie uw inschrijvingen onder "
                "Mijn overzicht."
            )
        ) from exc
    return enrollment


def _new_enrollment(
    edition: Edition, user: User, billing: Billing, pay_by: str, seats: int
) -> Enrollment:
    return Enrollment(
        user_id=user.id,
        user=user,
        edition_id=edition.id,
        edition=edition,
        seats=seats,
        status=EnrollmentStatus.HELD,
        pay_by=pay_by,
        payment_status=PaymentStatus.PENDING,
        hold_expires_at=utcnow() + timedelta(minutes=hold_minutes()),
        billing_name=billing.name.strip(),
        billing_organisation=(billing.organisation or "").strip() or None,
        billing_street=billing.street.strip(),
        billing_postcode=billing.postcode.strip(),
        billing_city=billing.city.strip(),
        billing_country=billing.country or "NL",
        vat_number=billing.vat_number or None,
        reference=(billing.reference or "").strip() or None,
        unit_price=edition.unit_price,
        vat_rate=edition.course.vat_rate,
    )


def price_preview(edition: Edition, seats: int = 1) -> tuple[Decimal, Decimal, Decimal]:
    """(excl. VAT, VAT, incl. VAT) for `seats` seats, computed as the invoice will."""
    from ...pdf import MoneyLine, line_totals

    unit = edition.unit_price or Decimal(0)
    subtotal, _rates, total = line_totals(
        [MoneyLine(edition.course.title, Decimal(seats), unit, edition.course.vat_rate)]
    )
    return subtotal, total - subtotal, total


def enroll(
    edition: Edition, user: User, billing: Billing, pay_by: str, *, by: User | None = None
) -> Enrollment:
    """Enroll `user` for one seat. Invoice (or a free edition): confirmed at once. Stripe: the
    seat is held until the Checkout Session is paid or expires (`payments.start_checkout`)."""
    _check_open(edition)
    _check_not_enrolled(edition, user)
    entry = active_waitlist_entry(edition, user)
    if entry is not None and entry.status == WaitlistStatus.OFFERED:
        raise AlreadyEnrolled(
            _l(
                "Er staat een plaats voor u klaar via de wachtlijst. Accepteer dat aanbod via "
                "de link in uw e-mail of onder Mijn overzicht."
            )
        )
    _check_payment_method(pay_by, price_preview(edition)[2])
    if not _take_seats(edition, 1):
        raise EditionFull(
            _l(
                "Deze editie is vol. U kunt zich op de wachtlijst zetten; komt er een plaats "
                "vrij, dan mailen we u."
            )
        )
    enrollment = _insert(_new_enrollment(edition, user, billing, pay_by, seats=1))
    audit.record(
        "enrollment.created",
        enrollment,
        actor=by or user,
        edition=edition.id,
        seats=1,
        pay_by=pay_by,
        unit_price=str(enrollment.unit_price),
    )
    if entry is not None:  # was waiting for this edition and found a free seat after all
        entry.end(WaitlistStatus.LEFT, by=user, reason="enrolled")
    _start(enrollment, by=by or user)
    return enrollment


def _start(enrollment: Enrollment, *, by=None) -> None:
    """A fresh enrollment with its seats taken: confirm it, or hold it for Stripe."""
    if enrollment.total == 0:
        enrollment.payment_status = PaymentStatus.NONE
        enrollment.confirm(by=by, via="free")
        _after_confirmed(enrollment)
    elif enrollment.pay_by == PayBy.INVOICE:
        enrollment.payment_status = PaymentStatus.DUE
        enrollment.confirm(by=by, via="invoice")
        _issue_enrollment_invoice(enrollment, by=by)
        _after_confirmed(enrollment)
    else:
        enrollment.hold_expires_at = utcnow() + max(
            timedelta(minutes=hold_minutes()), STRIPE_MIN_HOLD
        )
        audit.record("enrollment.held", enrollment, actor=by, until=enrollment.hold_expires_at)


def _issue_enrollment_invoice(enrollment: Enrollment, *, by=None) -> Invoice:
    user = enrollment.user
    invoice = issue_invoice(
        subject_type="enrollment",
        subject_id=enrollment.id,
        buyer_name=enrollment.billing_party_name,
        buyer_address="\n".join(enrollment.billing_address_lines),
        buyer_email=user.email,
        buyer_vat_number=enrollment.vat_number,
        buyer_user=user,
        buyer_organisation=user.organisation if user.is_client else None,
        reference=enrollment.reference,
        lines=[enrollment.money_line()],
        due_days=invoice_due_days(),
        by=by,
    )
    enrollment.invoice_id = invoice.id
    enrollment.invoice = invoice
    return invoice


def _after_confirmed(enrollment: Enrollment) -> None:
    _mail_enrollment(
        enrollment,
        "enroll_confirmed",
        _l("Inschrijving bevestigd: %(course)s", course=enrollment.edition.course.title),
    )
    sync_edition_invites(enrollment.edition)


def switch_to_invoice(enrollment: Enrollment, *, by: User) -> Enrollment:
    """A held enrollment whose Checkout could not start or was abandoned: pay by invoice."""
    enrollment = lock_enrollment(enrollment.id)
    if enrollment.status != EnrollmentStatus.HELD:
        raise DomainError(_l("Deze inschrijving wacht niet meer op betaling."))
    if enrollment.payment_status == PaymentStatus.PROCESSING:
        raise DomainError(_l("Uw betaling wordt al verwerkt. Wacht op de bevestiging."))
    if enrollment.stripe_session_id:
        from . import checkout as payments

        state = payments.close_checkout(enrollment)
        if state == "paid":
            raise DomainError(_l("Uw betaling is al ontvangen. U krijgt zo een bevestiging."))
    enrollment.pay_by = PayBy.INVOICE
    enrollment.payment_status = PaymentStatus.DUE
    enrollment.confirm(by=by, via="invoice")
    _issue_enrollment_invoice(enrollment, by=by)
    _after_confirmed(enrollment)
    return enrollment


# -- Stripe outcomes (called by payments.py with state re-fetched from Stripe) -------------------
def record_stripe_payment(
    enrollment: Enrollment, *, amount: Decimal, payment_intent_id: str
) -> str:
    """A Checkout Session for this enrollment is paid. Idempotent; returns what happened."""
    from . import checkout as payments

    enrollment = lock_enrollment(enrollment.id)
    if enrollment.stripe_payment_intent_id == payment_intent_id and enrollment.paid_at:
        return "already-recorded"
    if enrollment.stripe_payment_intent_id and enrollment.stripe_payment_intent_id != (
        payment_intent_id
    ):
        # A second payment for one enrollment (two tabs, two sessions): give it back.
        payments.refund_intent(
            payment_intent_id, amount, key=f"dup-{enrollment.token}-{payment_intent_id}"
        )
        audit.record(
            "enrollment.duplicate_payment_refunded",
            enrollment,
            actor=None,
            payment_intent=payment_intent_id,
            amount=str(amount),
        )
        return "refunded-duplicate"
    enrollment.stripe_payment_intent_id = payment_intent_id

    if enrollment.status == EnrollmentStatus.EXPIRED and _can_retake(enrollment):
        enrollment.revive()
    if enrollment.status == EnrollmentStatus.HELD:
        enrollment.mark_paid(amount, via="stripe")
        enrollment.confirm(via="stripe")
        invoice = _issue_enrollment_invoice(enrollment)
        invoice.mark_paid(PaymentMethod.STRIPE)
        _after_confirmed(enrollment)
        return "confirmed"
    if enrollment.status == EnrollmentStatus.CONFIRMED and enrollment.pay_by == PayBy.STRIPE:
        enrollment.mark_paid(amount, via="stripe")
        return "paid"
    # Expired with the seat gone, cancelled meanwhile, or switched to invoice: refund it all.
    enrollment.mark_paid(amount, via="stripe-late")
    payments.refund_intent(payment_intent_id, amount, key=f"late-{enrollment.token}")
    enrollment.record_refund(amount, source="late-payment")
    reason = "seat-gone" if enrollment.status == EnrollmentStatus.EXPIRED else enrollment.status
    audit.record("enrollment.late_payment_refunded", enrollment, actor=None, reason=reason)
    _mail_enrollment(
        enrollment,
        "enroll_late_payment_refunded",
        _l("Uw betaling wordt teruggestort: %(course)s", course=enrollment.edition.course.title),
        amount=amount,
        reason=reason,
    )
    return "refunded-late"


def _can_retake(enrollment: Enrollment) -> bool:
    edition = enrollment.edition
    if edition.status != EditionStatus.SCHEDULED:
        return False
    start = edition.starts_at
    if start is not None and utcnow() >= start:
        return False
    if active_enrollment(edition, enrollment.user) is not None:
        return False
    return _take_seats(edition, enrollment.seats)


def mark_processing(enrollment: Enrollment) -> str:
    """Checkout completed with a payment that settles later: keep the seat while it does."""
    enrollment = lock_enrollment(enrollment.id)
    if enrollment.status != EnrollmentStatus.HELD:
        return "not-held"
    if enrollment.payment_status == PaymentStatus.PROCESSING:
        return "already-processing"
    enrollment.payment_status = PaymentStatus.PROCESSING
    enrollment.hold_expires_at = utcnow() + timedelta(hours=processing_hold_hours())
    audit.record("enrollment.payment_processing", enrollment, actor=None)
    return "processing"


def extend_processing_hold(enrollment: Enrollment) -> None:
    enrollment.hold_expires_at = utcnow() + timedelta(hours=processing_hold_hours())


def record_stripe_refund(enrollment: Enrollment, total_refunded: Decimal) -> str:
    enrollment = lock_enrollment(enrollment.id)
    if not enrollment.paid_at:
        return "not-paid"
    changed = enrollment.record_refund(total_refunded, source="stripe")
    return "refund-recorded" if changed else "refund-known"


def expire_hold(enrollment: Enrollment, *, reason: str, now: datetime | None = None) -> bool:
    """Let a held seat go (Checkout expired, payment failed, hold lapsed) and offer it on.

    reason: 'hold-lapsed' (only once hold_expires_at has passed), 'checkout-expired',
    'payment-failed'. Returns False when there was nothing to do.
    """
    enrollment = lock_enrollment(enrollment.id)
    if enrollment is None or enrollment.status != EnrollmentStatus.HELD:
        return False
    now = now or utcnow()
    if reason == "hold-lapsed" and enrollment.hold_expires_at > now:
        return False
    enrollment.expire(reason=reason)
    _release_seats(enrollment.edition, enrollment.seats)
    subject = (
        _l("Betaling mislukt: %(course)s", course=enrollment.edition.course.title)
        if reason == "payment-failed"
        else _l("Reservering verlopen: %(course)s", course=enrollment.edition.course.title)
    )
    _mail_enrollment(enrollment, "enroll_hold_expired", subject, reason=reason)
    offer_next_seats(enrollment.edition)
    return True


def lapsed_hold_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    return list(
        db.session.scalars(
            select(Enrollment.id)
            .where(
                Enrollment.status == EnrollmentStatus.HELD,
                Enrollment.hold_expires_at <= (now or utcnow()),
            )
            .order_by(Enrollment.hold_expires_at)
            .limit(limit)
        )
    )


# -- cancelling -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CancelOutcome:
    enrollment: Enrollment
    fraction: Decimal
    refund_amount: Decimal
    stripe_refunded: Decimal
    credit_invoice: Invoice | None


def cancel_enrollment(
    enrollment: Enrollment,
    *,
    by: User | None,
    reason: str | None = None,
    refund: str = "policy",
    as_participant: bool = False,
    edition_cancelled: bool = False,
) -> CancelOutcome:
    """Cancel and settle the money per `refund` ('policy', 'full', 'none'); free the seats.

    A participant may cancel before the free-cancellation deadline (always: full refund); staff
    may cancel at any time. Stripe payments are refunded through Stripe; invoices get a credit
    invoice for the refunded share.
    """
    from . import checkout as payments

    enrollment = lock_enrollment(enrollment.id)
    if not enrollment.is_active:
        raise DomainError(_l("Deze inschrijving is al beëindigd."))
    if as_participant:
        if not participant_may_cancel(enrollment):
            deadline = free_cancellation_deadline(enrollment.edition)
            raise DomainError(
                _l(
                    "Kosteloos annuleren kon tot %(date)s. Neem contact met ons op als u toch "
                    "wilt annuleren.",
                    date=_format_date(deadline),
                )
            )
        refund = "policy"
    was_held = enrollment.status == EnrollmentStatus.HELD
    if as_participant and was_held and enrollment.payment_status == PaymentStatus.PROCESSING:
        raise DomainError(
            _l("Uw betaling wordt nog verwerkt. Annuleren kan zodra die is afgerond.")
        )
    fraction = Decimal(1) if was_held else refund_fraction(enrollment, refund)
    if was_held and enrollment.stripe_session_id:
        # Staff go ahead whatever Stripe says: a payment that still lands on a cancelled
        # enrollment is refunded in full by the webhook (record_stripe_payment).
        state = payments.close_checkout(enrollment)
        if state == "paid" and as_participant:
            raise DomainError(
                _l("Uw betaling is net binnengekomen. Ververs de pagina en probeer het opnieuw.")
            )
    enrollment.cancel(by=by, reason=reason)
    _release_seats(enrollment.edition, enrollment.seats)

    refund_amount = _cents(enrollment.total * fraction)
    stripe_refunded = Decimal("0.00")
    credit = None
    if not was_held:
        if (
            enrollment.pay_by == PayBy.STRIPE
            and enrollment.paid_at is not None
            and enrollment.stripe_payment_intent_id
        ):
            stripe_refunded = min(_cents(enrollment.amount_paid * fraction), enrollment.amount_paid)
            if stripe_refunded > 0:
                payments.refund_intent(
                    enrollment.stripe_payment_intent_id,
                    stripe_refunded,
                    key=f"cancel-{enrollment.token}",
                )
                enrollment.record_refund(stripe_refunded, by=by, source="cancellation")
        invoice = enrollment.invoice
        if invoice is not None and fraction > 0 and invoice.status != InvoiceStatus.CREDITED:
            invoice_open = invoice.status == InvoiceStatus.OPEN
            credit = issue_credit_invoice(
                invoice, fraction=fraction, reason=reason or "cancellation", by=by
            )
            enrollment.credit_invoice_id = credit.id
            enrollment.credit_invoice = credit
            if invoice_open and fraction == 1 and enrollment.pay_by == PayBy.INVOICE:
                enrollment.payment_status = PaymentStatus.NONE
    audit.record(
        "enrollment.cancellation_settled",
        enrollment,
        actor=by,
        fraction=str(fraction),
        refund=str(refund_amount),
        stripe_refund=str(stripe_refunded),
        credit_invoice=credit.number if credit else None,
    )
    template = "enroll_edition_cancelled" if edition_cancelled else "enroll_cancelled"
    subject = (
        _l("Editie geannuleerd: %(course)s", course=enrollment.edition.course.title)
        if edition_cancelled
        else _l("Inschrijving geannuleerd: %(course)s", course=enrollment.edition.course.title)
    )
    _mail_enrollment(
        enrollment,
        template,
        subject,
        was_held=was_held,
        fraction=fraction,
        refund_amount=refund_amount if not was_held else Decimal(0),
        stripe_refunded=stripe_refunded,
        credit_invoice=credit,
        reason=reason,
        by_staff=by is not None and by.id != enrollment.user_id,
    )
    sync_edition_invites(enrollment.edition)
    if not edition_cancelled:
        offer_next_seats(enrollment.edition)
    return CancelOutcome(enrollment, fraction, refund_amount, stripe_refunded, credit)


def cancel_edition_enrollments(edition: Edition, by: User | None, reason: str | None) -> int:
    """The edition does not take place: cancel and fully refund everyone, close its waiting list.

    Idempotent: only active enrollments and entries are touched. Returns how many enrollments
    were cancelled.
    """
    count = 0
    for enrollment in edition_enrollments(edition):
        if enrollment.is_active:
            cancel_enrollment(
                enrollment, by=by, reason=reason, refund="full", edition_cancelled=True
            )
            count += 1
    for entry in edition_waitlist(edition):
        if not entry.is_active:
            continue
        if entry.status == WaitlistStatus.OFFERED and entry.offered_edition_id == edition.id:
            _release_seats(edition, entry.seats)
            if entry.edition_id != edition.id or entry.any_edition:
                entry.status = WaitlistStatus.WAITING  # keep their place for other editions
                entry.offered_edition_id = None
                entry.offer_expires_at = None
                audit.record("waitlist.offer_withdrawn", entry, actor=by, edition=edition.id)
                continue
        if entry.edition_id == edition.id and not entry.any_edition:
            entry.end(WaitlistStatus.CLOSED, by=by, reason=reason)
            _mail_entry(
                entry,
                "enroll_waitlist_closed",
                _l("Editie geannuleerd: %(course)s", course=edition.course.title),
                reason=reason,
            )
    audit.record("edition.enrollments_cancelled", edition, actor=by, count=count, reason=reason)
    return count


def cancel_edition(edition: Edition, *, by: User, reason: str) -> int:
    """Admin action: the edition is off. Mark it cancelled, cancel its sessions (invites get a
    CANCEL) and refund everyone."""
    if edition.status == EditionStatus.COMPLETED:
        raise DomainError(_l("Een afgeronde editie kan niet meer worden geannuleerd."))
    edition.status = EditionStatus.CANCELLED
    edition.cancel_reason = reason
    audit.record("edition.cancelled", edition, actor=by, reason=reason)
    count = cancel_edition_enrollments(edition, by, reason)
    for session in edition.sessions:
        if not session.is_cancelled:
            session.cancel(note=reason)
    return count


@edition_changed.connect
def _on_edition_changed(edition: Edition, **_kwargs) -> None:
    """The catalog raised the capacity or cancelled the edition: act on it in its transaction."""
    if edition.id is None:
        return
    if edition.status == EditionStatus.CANCELLED:
        cancel_edition_enrollments(edition, None, edition.cancel_reason)
    else:
        db.session.flush()
        offer_next_seats(edition)


# -- waiting list ---------------------------------------------------------------------------------
def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def offer_token(entry: WaitlistEntry) -> str:
    return _serializer("waitlist-offer").dumps([entry.id, entry.offer_round])


def leave_token(entry: WaitlistEntry) -> str:
    return _serializer("waitlist-leave").dumps(entry.id)


class OfferLinkInvalid(DomainError):
    pass


def entry_for_offer_token(token: str) -> WaitlistEntry:
    try:
        entry_id, offer_round = _serializer("waitlist-offer").loads(
            token, max_age=offer_hours() * 3600 + 3600
        )
    except SignatureExpired as exc:
        raise OfferLinkInvalid(_l("Dit aanbod is verlopen.")) from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise OfferLinkInvalid(_l("Deze link is ongeldig.")) from exc
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise OfferLinkInvalid(_l("Deze link is ongeldig."))
    if entry.offer_round != offer_round:
        raise OfferLinkInvalid(
            _l("Deze link hoort bij een eerder aanbod. Gebruik de link uit uw laatste e-mail.")
        )
    return entry


def entry_for_leave_token(token: str) -> WaitlistEntry:
    try:
        entry_id = _serializer("waitlist-leave").loads(token)
    except (BadSignature, ValueError, TypeError) as exc:
        raise OfferLinkInvalid(_l("Deze link is ongeldig.")) from exc
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise OfferLinkInvalid(_l("Deze link is ongeldig."))
    return entry


def join_waitlist(
    edition: Edition,
    user: User,
    *,
    seats: int = 1,
    any_edition: bool = False,
    note: str | None = None,
) -> WaitlistEntry:
    if edition.status != EditionStatus.SCHEDULED or not edition.course.published:
        raise EnrollmentClosed(_l("Voor deze editie is geen wachtlijst (meer)."))
    _check_open(edition)
    if seats < 1 or seats > min(max_group_seats(), edition.capacity):
        raise DomainError(
            _l(
                "Kies tussen 1 en %(n)s plaatsen.",
                n=min(max_group_seats(), edition.capacity),
            ),
            field="seats",
        )
    _check_not_enrolled(edition, user)
    if active_waitlist_entry(edition, user) is not None:
        raise AlreadyEnrolled(_l("U staat al op de wachtlijst voor deze editie."))
    if seats == 1 and seats_free(edition) > 0:
        raise DomainError(_l("Er is nog een plaats vrij: u kunt zich direct inschrijven."))
    entry = WaitlistEntry(
        user_id=user.id,
        user=user,
        edition_id=edition.id,
        edition=edition,
        course_id=edition.course_id,
        seats=seats,
        any_edition=any_edition,
        note=(note or "").strip() or None,
    )
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()  # as in _insert
        raise AlreadyEnrolled(_l("U staat al op de wachtlijst voor deze editie.")) from exc
    audit.record(
        "waitlist.joined", entry, actor=user, edition=edition.id, seats=seats, any=any_edition
    )
    _mail_entry(
        entry,
        "enroll_waitlist_joined",
        _l("U staat op de wachtlijst: %(course)s", course=edition.course.title),
        position=waitlist_position(entry),
    )
    # A group that fits in what is free now gets its offer at once, here or elsewhere.
    offer_next_seats(edition)
    if any_edition:
        for other in edition.course.editions:
            if other.id != edition.id and entry.status == WaitlistStatus.WAITING:
                offer_next_seats(other)
    return entry


def _offerable(edition: Edition, now: datetime) -> bool:
    if edition.status != EditionStatus.SCHEDULED or not edition.course.published:
        return False
    start = edition.starts_at
    return start is None or now < start


def offer_next_seats(edition: Edition, now: datetime | None = None) -> list[WaitlistEntry]:
    """Offer free seats of `edition` to the waiting list, first in line first.

    An entry gets an offer when its seats fit in what is free; a group that does not fit yet
    keeps its place while smaller entries behind it are served. Each offer reserves its seats.
    """
    now = now or utcnow()
    offered: list[WaitlistEntry] = []
    if not _offerable(edition, now):
        return offered
    skipped: set[int] = set()
    for _round in range(100):  # bounded: every pass offers or stops
        free = seats_free(edition)
        if free <= 0:
            break
        candidate = next(
            (
                entry
                for entry in waitlist_queue(edition)
                if entry.id not in skipped and entry.seats <= free
            ),
            None,
        )
        if candidate is None:
            break
        if active_enrollment(edition, candidate.user) is not None:
            skipped.add(candidate.id)
            continue
        entry = _lock_entry(candidate.id)
        if entry is None or entry.status != WaitlistStatus.WAITING:
            skipped.add(candidate.id)
            continue
        if not _take_seats(edition, entry.seats):
            skipped.add(candidate.id)
            continue
        expires = now + timedelta(hours=offer_hours())
        start = edition.starts_at
        if start is not None and start < expires:
            expires = start
        entry.offer(edition, expires)
        _mail_offer(entry)
        offered.append(entry)
    return offered


def offer_free_seats_everywhere(now: datetime | None = None) -> int:
    """Safety net for the beat task: any scheduled edition with free seats and someone waiting
    gets its offers, even if the event that freed the seat was missed."""
    now = now or utcnow()
    waiting_courses = select(WaitlistEntry.course_id).where(
        WaitlistEntry.status == WaitlistStatus.WAITING
    )
    editions = db.session.scalars(
        select(Edition).where(
            Edition.status == EditionStatus.SCHEDULED,
            Edition.seats_taken < Edition.capacity,
            Edition.course_id.in_(waiting_courses),
        )
    ).all()
    return sum(len(offer_next_seats(edition, now)) for edition in editions)


def _mail_offer(entry: WaitlistEntry) -> None:
    edition = entry.offered_edition
    queue_mail(
        to=entry.user,
        subject=_l("Er is een plaats voor u: %(course)s", course=edition.course.title),
        template="bookings/enroll_waitlist_offer",
        context={
            "entry": entry,
            "edition": edition,
            "course": edition.course,
            "other_edition": edition.id != entry.edition_id,
            "offer_url": public_url("bookings.waitlist_offer", token=offer_token(entry)),
            "leave_url": public_url("bookings.waitlist_leave", token=leave_token(entry)),
        },
        dedupe_key=f"waitlist-offer:{entry.id}:{entry.offer_round}",
    )


def _release_offer(entry: WaitlistEntry) -> Edition:
    edition = entry.offered_edition
    _release_seats(edition, entry.seats)
    return edition


def accept_offer(
    entry: WaitlistEntry, user: User, billing: Billing, pay_by: str, now: datetime | None = None
) -> Enrollment:
    """Turn an offer into an enrollment for the offered edition; the seats it reserved move over."""
    now = now or utcnow()
    entry = _lock_entry(entry.id)
    if entry.user_id != user.id:
        raise DomainError(_l("Dit aanbod is voor iemand anders."))
    if entry.status != WaitlistStatus.OFFERED:
        raise DomainError(_l("Dit aanbod is niet meer geldig."))
    if entry.offer_expires_at <= now:
        raise DomainError(_l("Dit aanbod is verlopen."))
    edition = entry.offered_edition
    if not _offerable(edition, now):
        raise EnrollmentClosed(_l("Inschrijven voor deze editie is niet (meer) mogelijk."))
    _check_not_enrolled(edition, user)
    enrollment = _new_enrollment(edition, user, billing, pay_by, seats=entry.seats)
    _check_payment_method(pay_by, enrollment.total)
    enrollment.waitlist_entry_id = entry.id
    _insert(enrollment)
    audit.record(
        "enrollment.created",
        enrollment,
        actor=user,
        edition=edition.id,
        seats=entry.seats,
        pay_by=pay_by,
        waitlist_entry=entry.id,
        unit_price=str(enrollment.unit_price),
    )
    entry.end(WaitlistStatus.ACCEPTED, by=user, enrollment=enrollment.id)
    _start(enrollment, by=user)
    return enrollment


def decline_offer(entry: WaitlistEntry, *, by: User | None = None) -> None:
    entry = _lock_entry(entry.id)
    if entry.status != WaitlistStatus.OFFERED:
        raise DomainError(_l("Dit aanbod is niet meer geldig."))
    edition = _release_offer(entry)
    entry.end(WaitlistStatus.DECLINED, by=by)
    offer_next_seats(edition)


def leave_waitlist(entry: WaitlistEntry, *, by: User | None = None) -> None:
    entry = _lock_entry(entry.id)
    if not entry.is_active:
        raise DomainError(_l("U staat niet meer op deze wachtlijst."))
    edition = _release_offer(entry) if entry.status == WaitlistStatus.OFFERED else None
    entry.end(WaitlistStatus.LEFT, by=by)
    if edition is not None:
        offer_next_seats(edition)


def expire_offer(entry: WaitlistEntry, now: datetime | None = None) -> bool:
    now = now or utcnow()
    entry = _lock_entry(entry.id)
    if entry is None or entry.status != WaitlistStatus.OFFERED or entry.offer_expires_at > now:
        return False
    edition = _release_offer(entry)
    entry.end(WaitlistStatus.LAPSED)
    _mail_entry(
        entry,
        "enroll_waitlist_offer_expired",
        _l("Aanbod verlopen: %(course)s", course=edition.course.title),
        offered_edition=edition,
    )
    offer_next_seats(edition, now)
    return True


def lapsed_offer_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    return list(
        db.session.scalars(
            select(WaitlistEntry.id)
            .where(
                WaitlistEntry.status == WaitlistStatus.OFFERED,
                WaitlistEntry.offer_expires_at <= (now or utcnow()),
            )
            .order_by(WaitlistEntry.offer_expires_at)
            .limit(limit)
        )
    )


# -- mail -----------------------------------------------------------------------------------------
def _format_date(value) -> str:
    from flask_babel import format_date

    return format_date(value, "long") if value else ""


def _mail_enrollment(enrollment: Enrollment, template: str, subject, **context) -> None:
    edition = enrollment.edition
    queue_mail(
        to=enrollment.user,
        subject=subject,
        template=f"bookings/{template}",
        context={
            "enrollment": enrollment,
            "edition": edition,
            "course": edition.course,
            "sessions": edition.active_sessions,
            "detail_url": public_url("bookings.enrollment_detail", enrollment_id=enrollment.id),
            "invoice_url": public_url("bookings.invoice_download", invoice_id=enrollment.invoice_id)
            if enrollment.invoice_id
            else None,
            "credit_url": public_url(
                "bookings.invoice_download", invoice_id=enrollment.credit_invoice_id
            )
            if enrollment.credit_invoice_id
            else None,
            "enroll_url": public_url("bookings.enroll", edition_id=edition.id),
            "cancel_deadline": free_cancellation_deadline(edition),
            **context,
        },
    )


def _mail_entry(entry: WaitlistEntry, template: str, subject, **context) -> None:
    queue_mail(
        to=entry.user,
        subject=subject,
        template=f"bookings/{template}",
        context={
            "entry": entry,
            "edition": entry.edition,
            "course": entry.edition.course,
            "leave_url": public_url("bookings.waitlist_leave", token=leave_token(entry)),
            "account_url": public_url("account.dashboard"),
            "enroll_url": public_url(
                "bookings.enroll",
                edition_id=context["offered_edition"].id
                if "offered_edition" in context
                else entry.edition_id,
            ),
            **context,
        },
    )


# -- bank transfers: an invoice marked paid settles its enrollment ------------------------------
@invoice_paid.connect
def _invoice_paid_settles_enrollment(invoice: Invoice, **_kwargs) -> None:
    """Staff mark invoices paid on the generic invoice route; the enrollment follows, in the
    same transaction, so both always agree."""
    if invoice.subject_type != "enrollment" or invoice.is_credit:
        return
    enrollment = db.session.get(Enrollment, invoice.subject_id)
    if (
        enrollment is None
        or enrollment.invoice_id != invoice.id
        or enrollment.pay_by != PayBy.INVOICE
        or enrollment.payment_status != PaymentStatus.DUE
    ):
        return
    enrollment.mark_paid(invoice.total, via="bank-transfer")
    _mail_enrollment(
        enrollment,
        "enroll_payment_received",
        _l("Betaling ontvangen: %(course)s", course=enrollment.edition.course.title),
        invoice=invoice,
    )


# -- who takes part -------------------------------------------------------------------------------
def enrollment_participants(session: TrainingSession) -> list[Participant]:
    if session.edition_id is None:
        return []
    rows = db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.edition_id == session.edition_id,
            Enrollment.status == EnrollmentStatus.CONFIRMED,
        )
        .order_by(Enrollment.id)
    )
    return [
        Participant(
            key=f"enrollment:{row.id}",
            email=row.user.email,
            name=row.user.name,
            user_id=row.user_id,
            locale=row.user.locale,
            joined_at=row.confirmed_at,
        )
        for row in rows
    ]


register_provider(enrollment_participants)


# -- admin overview -------------------------------------------------------------------------------
def pipeline_counts() -> dict[str, int]:
    held = db.session.scalar(
        select(func.count(Enrollment.id)).where(Enrollment.status == EnrollmentStatus.HELD)
    )
    due = db.session.scalar(
        select(func.count(Enrollment.id)).where(
            Enrollment.status == EnrollmentStatus.CONFIRMED,
            Enrollment.payment_status == PaymentStatus.DUE,
        )
    )
    waiting = db.session.scalar(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.status.in_(ACTIVE_WAITLIST_STATUSES)
        )
    )
    return {"held": held or 0, "due": due or 0, "waiting": waiting or 0}


def upcoming_editions_with_counts() -> list[tuple[Edition, dict[str, int]]]:
    editions = db.session.scalars(
        select(Edition)
        .where(Edition.status == EditionStatus.SCHEDULED)
        .order_by(Edition.id.desc())
        .limit(200)
    ).all()
    result = []
    for edition in sorted(editions, key=lambda e: (e.starts_at is None, e.starts_at or utcnow())):
        counts = dict(
            db.session.execute(
                select(Enrollment.status, func.coalesce(func.sum(Enrollment.seats), 0))
                .where(Enrollment.edition_id == edition.id)
                .group_by(Enrollment.status)
            ).all()
        )
        waiting = db.session.scalar(
            select(func.count(WaitlistEntry.id)).where(
                WaitlistEntry.edition_id == edition.id,
                WaitlistEntry.status.in_(ACTIVE_WAITLIST_STATUSES),
            )
        )
        result.append(
            (
                edition,
                {
                    "confirmed": int(counts.get(EnrollmentStatus.CONFIRMED, 0)),
                    "held": int(counts.get(EnrollmentStatus.HELD, 0)),
                    "waiting": int(waiting or 0),
                },
            )
        )
    return result


@register_sessions_provider
def enrolled_sessions(user) -> list[TrainingSession]:
    """The sessions of editions the user holds a confirmed seat in (their calendar feed)."""
    return list(
        db.session.scalars(
            select(TrainingSession)
            .join(Enrollment, Enrollment.edition_id == TrainingSession.edition_id)
            .where(Enrollment.user_id == user.id, Enrollment.status == EnrollmentStatus.CONFIRMED)
            .order_by(TrainingSession.starts_at)
        )
    )
