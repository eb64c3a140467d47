"""Payment outcomes of an enrollment: Stripe results (called by checkout with state re-fetched
from Stripe), payment holds and their expiry, and a bank transfer settling its invoice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from ... import audit
from ...courses.models import EditionStatus
from ...db_types import utcnow
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..billing.invoices import (
    Invoice,
    PaymentMethod,
)
from .enrolling import announce_confirmation, issue_enrollment_invoice
from .mail import mail_enrollment
from .models import (
    Enrollment,
    EnrollmentStatus,
    PayBy,
    PaymentStatus,
)
from .policy import processing_hold_hours
from .queries import active_enrollment
from .seats import lock_enrollment, release_seats, take_seats
from .waitlist import offer_next_seats


# -- Stripe outcomes (called by checkout.py with state re-fetched from Stripe) -------------------
def record_stripe_payment(
    enrollment: Enrollment, *, amount: Decimal, payment_intent_id: str
) -> str:
    """A Checkout Session for this enrollment is paid. Idempotent; returns what happened."""
    from . import checkout

    enrollment = lock_enrollment(enrollment.id)
    if enrollment.stripe_payment_intent_id == payment_intent_id and enrollment.paid_at:
        return "already-recorded"
    if enrollment.stripe_payment_intent_id and enrollment.stripe_payment_intent_id != (
        payment_intent_id
    ):
        # A second payment for one enrollment (two tabs, two sessions): give it back.
        checkout.refund_intent(
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
        invoice = issue_enrollment_invoice(enrollment)
        invoice.mark_paid(PaymentMethod.STRIPE)
        announce_confirmation(enrollment)
        return "confirmed"
    if enrollment.status == EnrollmentStatus.CONFIRMED and enrollment.pay_by == PayBy.STRIPE:
        enrollment.mark_paid(amount, via="stripe")
        return "paid"
    # Expired with the seat gone, cancelled meanwhile, or switched to invoice: refund it all.
    enrollment.mark_paid(amount, via="stripe-late")
    checkout.refund_intent(payment_intent_id, amount, key=f"late-{enrollment.token}")
    enrollment.record_refund(amount, source="late-payment")
    reason = "seat-gone" if enrollment.status == EnrollmentStatus.EXPIRED else enrollment.status
    audit.record("enrollment.late_payment_refunded", enrollment, actor=None, reason=reason)
    mail_enrollment(
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
    return take_seats(edition, enrollment.seats)


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
    release_seats(enrollment.edition, enrollment.seats)
    subject = (
        _l("Betaling mislukt: %(course)s", course=enrollment.edition.course.title)
        if reason == "payment-failed"
        else _l("Reservering verlopen: %(course)s", course=enrollment.edition.course.title)
    )
    mail_enrollment(enrollment, "enroll_hold_expired", subject, reason=reason)
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


# -- bank transfers: an invoice marked paid settles its enrollment ------------------------------
def settle_paid_invoice(invoice: Invoice, **_kwargs) -> None:
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
    mail_enrollment(
        enrollment,
        "enroll_payment_received",
        _l("Betaling ontvangen: %(course)s", course=enrollment.edition.course.title),
        invoice=invoice,
    )
