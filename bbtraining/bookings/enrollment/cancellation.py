"""Cancelling an enrollment (refund, credit invoice, the freed seat to the waiting list), the
enrollments of an edition the catalog cancelled, and the seats a raised capacity frees.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ... import audit
from ...auth.models import User
from ...courses.models import Edition, EditionStatus
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..billing.amounts import MoneyLine, line_totals
from ..billing.invoices import (
    Invoice,
    InvoiceStatus,
    issue_credit_invoice,
)
from ..sessions.invites import sync_edition_invites
from .mail import long_date, mail_enrollment
from .models import (
    Enrollment,
    EnrollmentStatus,
    PayBy,
    PaymentStatus,
    SeatStatus,
    WaitlistStatus,
)
from .named_seats import active_seat
from .policy import (
    free_cancellation_deadline,
    participant_may_cancel,
    refund_fraction,
    round_cents,
)
from .queries import edition_enrollments
from .seats import lock_enrollment, release_seats
from .waitlist import edition_waitlist, mail_waitlist_entry, offer_next_seats


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
    from . import checkout

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
                    date=long_date(deadline),
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
        state = checkout.close_checkout(enrollment)
        if state == "paid" and as_participant:
            raise DomainError(
                _l("Uw betaling is net binnengekomen. Ververs de pagina en probeer het opnieuw.")
            )
    enrollment.cancel(by=by, reason=reason)
    release_seats(enrollment.edition, enrollment.seats)

    refund_amount = round_cents(enrollment.total * fraction)
    stripe_refunded = Decimal("0.00")
    credit = None
    if not was_held:
        if (
            enrollment.pay_by == PayBy.STRIPE
            and enrollment.paid_at is not None
            and enrollment.stripe_payment_intent_id
        ):
            # What is left after seats cancelled one by one were refunded.
            remaining = enrollment.amount_paid - enrollment.amount_refunded
            stripe_refunded = min(round_cents(remaining * fraction), remaining)
            if stripe_refunded > 0:
                checkout.refund_intent(
                    enrollment.stripe_payment_intent_id,
                    stripe_refunded,
                    key=f"cancel-{enrollment.token}",
                )
                enrollment.record_refund(
                    enrollment.amount_refunded + stripe_refunded, by=by, source="cancellation"
                )
        invoice = enrollment.invoice
        if invoice is not None and fraction > 0 and invoice.status != InvoiceStatus.CREDITED:
            invoice_open = invoice.status == InvoiceStatus.OPEN
            credit = issue_credit_invoice(
                invoice,
                fraction=fraction,
                reason=reason or "cancellation",
                by=by,
                lines=_remaining_lines(enrollment, invoice, fraction),
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
    mail_enrollment(
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


def _remaining_lines(enrollment: Enrollment, invoice: Invoice, fraction: Decimal):
    """Credit lines for the seats still held, when seats were credited one by one before;
    None (the invoice's own lines) otherwise."""
    invoiced = sum((line.quantity for line in invoice.lines), Decimal(0))
    if invoiced == enrollment.seats:
        return None
    line = enrollment.money_line()
    return [
        MoneyLine(line.description, -(line.quantity * fraction), line.unit_price, line.vat_rate)
    ]


# -- one seat of a group --------------------------------------------------------------------------
def cancel_seat(enrollment: Enrollment, position: int, *, by: User) -> CancelOutcome:
    """The booker gives back one seat of a group: its colleague's invite is cancelled, the seat
    goes to the waiting list, and the money for it is settled per the cancellation policy (a
    credit invoice for one seat, or a Stripe refund of one seat's share)."""
    from . import checkout

    enrollment = lock_enrollment(enrollment.id)
    db.session.expire(enrollment, ["seat_rows"])  # as committed, now that we hold the lock
    if enrollment.status != EnrollmentStatus.CONFIRMED or not enrollment.is_group:
        raise DomainError(_l("Van deze inschrijving kunt u geen losse plaats annuleren."))
    if enrollment.seats < 2:
        raise DomainError(
            _l("Dit is de laatste plaats van uw inschrijving. Annuleer de hele inschrijving.")
        )
    if not participant_may_cancel(enrollment):
        raise DomainError(
            _l(
                "Kosteloos annuleren kon tot %(date)s. Neem contact met ons op als u toch "
                "wilt annuleren.",
                date=long_date(free_cancellation_deadline(enrollment.edition)),
            )
        )
    seat = active_seat(enrollment.id, position)
    if seat is None:
        raise DomainError(_l("Deze plaats hoort niet bij uw inschrijving."))
    fraction = refund_fraction(enrollment, "policy")
    seat.end(SeatStatus.CANCELLED)
    enrollment.seats -= 1
    release_seats(enrollment.edition, 1)
    one = enrollment.money_line()
    who = seat.name or str(_l("plaats %(num)s", num=position))
    seat_line = MoneyLine(
        f"{enrollment.line_title}: {who}"[:500], Decimal(1), one.unit_price, one.vat_rate
    )
    refund_amount = round_cents(line_totals([seat_line])[2] * fraction)
    stripe_refunded, credit = Decimal("0.00"), None
    if (
        enrollment.pay_by == PayBy.STRIPE
        and enrollment.paid_at is not None
        and enrollment.stripe_payment_intent_id
    ):
        stripe_refunded = min(refund_amount, enrollment.amount_paid - enrollment.amount_refunded)
        if stripe_refunded > 0:
            checkout.refund_intent(
                enrollment.stripe_payment_intent_id, stripe_refunded, key=f"cancel-seat-{seat.id}"
            )
            enrollment.record_refund(
                enrollment.amount_refunded + stripe_refunded, by=by, source="seat-cancellation"
            )
    invoice = enrollment.invoice
    if invoice is not None and fraction > 0 and invoice.status != InvoiceStatus.CREDITED:
        credit = issue_credit_invoice(
            invoice,
            reason="seat-cancellation",
            by=by,
            partial=True,
            lines=[MoneyLine(seat_line.description, -fraction, one.unit_price, one.vat_rate)],
        )
    audit.record(
        "enrollment.seat_cancelled",
        enrollment,
        actor=by,
        position=position,
        email=seat.email,
        fraction=str(fraction),
        stripe_refund=str(stripe_refunded),
        credit_invoice=credit.number if credit else None,
    )
    db.session.flush()
    sync_edition_invites(enrollment.edition)
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
            release_seats(edition, entry.seats)
            if entry.edition_id != edition.id or entry.any_edition:
                entry.status = WaitlistStatus.WAITING  # keep their place for other editions
                entry.offered_edition_id = None
                entry.offer_expires_at = None
                audit.record("waitlist.offer_withdrawn", entry, actor=by, edition=edition.id)
                continue
        if entry.edition_id == edition.id and not entry.any_edition:
            entry.end(WaitlistStatus.CLOSED, by=by, reason=reason)
            mail_waitlist_entry(
                entry,
                "enroll_waitlist_closed",
                _l("Editie geannuleerd: %(course)s", course=edition.course.title),
                reason=reason,
            )
    audit.record("edition.enrollments_cancelled", edition, actor=by, count=count, reason=reason)
    return count


def on_edition_cancelled(
    edition: Edition, *, by: User | None = None, reason: str | None = None, **_kwargs
) -> None:
    """The catalog cancelled the edition (`courses.editions.cancel_edition`): settle its
    enrollments and waiting list in the same transaction."""
    cancel_edition_enrollments(edition, by, reason)


def on_edition_changed(edition: Edition, **_kwargs) -> None:
    """The catalog raised the capacity: the freed seats go to the waiting list, in its
    transaction."""
    if edition.id is None or edition.status == EditionStatus.CANCELLED:
        return
    db.session.flush()
    offer_next_seats(edition)
