"""Enrolling in an open edition: the checks, the price, the enrollment row, its confirmation
or payment hold, its invoice, and switching from online payment to an invoice. Functions
flush, never commit; the caller commits once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from ... import audit, vat
from ...auth.models import User
from ...courses.models import Edition, EditionStatus
from ...db_types import utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ..billing.invoices import (
    Invoice,
    issue_invoice,
)
from ..sessions.invites import sync_edition_invites
from .mail import mail_enrollment
from .models import (
    Enrollment,
    EnrollmentStatus,
    PayBy,
    PaymentStatus,
    WaitlistStatus,
)
from .named_seats import SeatHolder, check_free, create_seats
from .policy import (
    STRIPE_MIN_HOLD,
    AlreadyEnrolled,
    Billing,
    EditionFull,
    EnrollmentClosed,
    hold_minutes,
    invoice_due_days,
    max_group_seats,
)
from .queries import active_enrollment, active_waitlist_entry
from .seats import lock_enrollment, seats_free, take_seats


# -- enrolling ------------------------------------------------------------------------------------
def check_enrollment_open(edition: Edition, now: datetime | None = None) -> None:
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


def check_not_enrolled(edition: Edition, user: User) -> None:
    if active_enrollment(edition, user) is not None:
        raise AlreadyEnrolled(
            _l(
                "U bent al ingeschreven voor deze editie. Zie uw inschrijvingen onder "
                "Mijn overzicht."
            )
        )


def check_payment_method(pay_by: str, total: Decimal) -> None:
    from ..billing.stripe_client import stripe_enabled

    if pay_by not in (PayBy.STRIPE, PayBy.INVOICE):
        raise DomainError(_l("Kies hoe u wilt betalen."), field="pay_by")
    if pay_by == PayBy.STRIPE and total > 0 and not stripe_enabled():
        raise DomainError(
            _l("Betalen met iDEAL of creditcard is nu niet mogelijk. Kies betalen op factuur."),
            field="pay_by",
        )


def insert_enrollment(enrollment: Enrollment) -> Enrollment:
    # No savepoint: pysqlite commits one on its own when it is a transaction's first statement.
    # A refused insert spoils the transaction; the caller's commit helper rolls it back. The
    # refusal is made before the flush because its message needs the session (the user's
    # locale), which serves nothing after a failed flush until that rollback.
    refusal = AlreadyEnrolled(
        _l("U bent al ingeschreven voor deze editie. Zie uw inschrijvingen onder Mijn overzicht.")
    )
    db.session.add(enrollment)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise refusal from exc
    return enrollment


def checked_billing(billing: Billing) -> Billing:
    """The billing details with the VAT number in its compact form, asked at VIES (a
    DomainError when VIES says it does not exist; VIES being away refuses nothing). Call it
    before taking seats: VIES may take seconds."""
    return replace(billing, vat_number=vat.check_for_booking(billing.vat_number, billing.country))


def new_enrollment(
    edition: Edition, user: User, billing: Billing, pay_by: str, seats: int
) -> Enrollment:
    """An enrollment at today's price; reverse-charge (0 % VAT) for a business in another member
    state whose number VIES confirmed (`billing` as `checked_billing` returns it)."""
    reverse_charge = vat.reverse_charge(billing.country, billing.vat_number)
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
        vat_rate=Decimal(0) if reverse_charge else edition.course.vat_rate,
        reverse_charge=reverse_charge,
    )


def price_preview(
    edition: Edition, seats: int = 1, *, reverse_charge: bool = False
) -> tuple[Decimal, Decimal, Decimal]:
    """(excl. VAT, VAT, incl. VAT) for `seats` seats, computed as the invoice will."""
    from ..billing.amounts import MoneyLine, line_totals

    unit = edition.unit_price or Decimal(0)
    rate = Decimal(0) if reverse_charge else edition.course.vat_rate
    subtotal, _rates, total = line_totals(
        [MoneyLine(edition.course.title, Decimal(seats), unit, rate)]
    )
    return subtotal, total - subtotal, total


def enroll(
    edition: Edition,
    user: User,
    billing: Billing,
    pay_by: str,
    *,
    by: User | None = None,
    holders: list[SeatHolder] | None = None,
    seats: int = 1,
) -> Enrollment:
    """Enroll `user` for `seats` seats. Without `holders` the user takes their one seat
    themselves; with them (a group: colleagues, perhaps the user too) each seat gets a row, the
    first ones named (`named_seats`). Invoice (or a free edition): confirmed at once. Stripe: the
    seats are held until the Checkout Session is paid or expires (`checkout.start_checkout`)."""
    if holders is None and seats != 1:
        raise DomainError(_l("Vul de namen in van wie deelnemen."), field="group_size")
    if not 1 <= seats <= max_group_seats():
        raise DomainError(
            _l("Kies tussen 1 en %(max)s plaatsen.", max=max_group_seats()), field="group_size"
        )
    check_enrollment_open(edition)
    check_not_enrolled(edition, user)
    billing = checked_billing(billing)
    if holders is None:  # a colleague already booked a seat for this person
        check_free(edition.id, [SeatHolder(user.name, user.email)])
    entry = active_waitlist_entry(edition, user)
    if entry is not None and entry.status == WaitlistStatus.OFFERED:
        raise AlreadyEnrolled(
            _l(
                "Er staat een plaats voor u klaar via de wachtlijst. Accepteer dat aanbod via "
                "de link in uw e-mail of onder Mijn overzicht."
            )
        )
    check_payment_method(
        pay_by,
        price_preview(
            edition, seats, reverse_charge=vat.reverse_charge(billing.country, billing.vat_number)
        )[2],
    )
    # A shortcut, not the guarantee: when the edition is visibly full, say so before any work.
    if seats_free(edition) < seats:
        raise edition_full(edition, seats)
    enrollment = insert_enrollment(new_enrollment(edition, user, billing, pay_by, seats=seats))
    if holders is not None:
        create_seats(enrollment, holders, by=by or user)
    audit.record(
        "enrollment.created",
        enrollment,
        actor=by or user,
        edition=edition.id,
        seats=seats,
        pay_by=pay_by,
        unit_price=str(enrollment.unit_price),
    )
    if entry is not None:  # was waiting for this edition and found a free seat after all
        entry.end(WaitlistStatus.LEFT, by=user, reason="enrolled")
    # Everything that does not need the seat comes first: taking it locks the edition's row
    # until the commit, and everyone else enrolling in this edition waits for that lock.
    confirm_or_hold(enrollment, by=by or user)
    if not take_seats(edition, seats):  # the guarantee: a conditional UPDATE of the counter
        raise edition_full(edition, seats)
    invoice_and_announce(enrollment, by=by or user)
    return enrollment


def edition_full(edition: Edition, seats: int) -> EditionFull:
    if seats > 1 and seats_free(edition) > 0:
        return EditionFull(
            _l(
                "Er zijn niet genoeg plaatsen vrij voor %(num)s deelnemers. Vraag ze aan "
                "via de wachtlijst, of schrijf minder deelnemers in.",
                num=seats,
            )
        )
    return EditionFull(
        _l(
            "Deze editie is vol. U kunt zich op de wachtlijst zetten; komt er een plaats "
            "vrij, dan mailen we u."
        )
    )


def start_enrollment(enrollment: Enrollment, *, by=None) -> None:
    """A fresh enrollment with its seats taken: confirm it, or hold it for Stripe."""
    confirm_or_hold(enrollment, by=by)
    invoice_and_announce(enrollment, by=by)


def confirm_or_hold(enrollment: Enrollment, *, by=None) -> None:
    """The part of starting an enrollment that needs no seat: confirm it (free, or by invoice),
    or hold it for Stripe."""
    if enrollment.total == 0:
        enrollment.payment_status = PaymentStatus.NONE
        enrollment.confirm(by=by, via="free")
    elif enrollment.pay_by == PayBy.INVOICE:
        enrollment.payment_status = PaymentStatus.DUE
        enrollment.confirm(by=by, via="invoice")
    else:
        enrollment.hold_expires_at = utcnow() + max(
            timedelta(minutes=hold_minutes()), STRIPE_MIN_HOLD
        )
        audit.record("enrollment.held", enrollment, actor=by, until=enrollment.hold_expires_at)


def invoice_and_announce(enrollment: Enrollment, *, by=None) -> None:
    """The part that comes after the seat: the invoice (its number takes the year's counter, a
    lock of its own), the confirmation mail, which names that number, and the calendar
    invites. The invites stay under the seat lock: they are shared with the trainer (and any
    guest), whose invite two enrollments made at once would both try to create."""
    if enrollment.status != EnrollmentStatus.CONFIRMED:
        return
    if enrollment.payment_status == PaymentStatus.DUE:
        issue_enrollment_invoice(enrollment, by=by)
    announce_confirmation(enrollment)


def issue_enrollment_invoice(enrollment: Enrollment, *, by=None) -> Invoice:
    user = enrollment.user
    invoice = issue_invoice(
        subject_type="enrollment",
        subject_id=enrollment.id,
        buyer_name=enrollment.billing_party_name,
        buyer_address="\n".join(enrollment.billing_address_lines),
        buyer_email=user.email,
        buyer_vat_number=enrollment.vat_number,
        reverse_charge=enrollment.reverse_charge,
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


def announce_confirmation(enrollment: Enrollment) -> None:
    mail_confirmation(enrollment)
    sync_edition_invites(enrollment.edition)


def mail_confirmation(enrollment: Enrollment) -> None:
    mail_enrollment(
        enrollment,
        "enroll_confirmed",
        _l("Inschrijving bevestigd: %(course)s", course=enrollment.edition.course.title),
    )


def switch_to_invoice(enrollment: Enrollment, *, by: User) -> Enrollment:
    """A held enrollment whose Checkout could not start or was abandoned: pay by invoice."""
    enrollment = lock_enrollment(enrollment.id)
    if enrollment.status != EnrollmentStatus.HELD:
        raise DomainError(_l("Deze inschrijving wacht niet meer op betaling."))
    if enrollment.payment_status == PaymentStatus.PROCESSING:
        raise DomainError(_l("Uw betaling wordt al verwerkt. Wacht op de bevestiging."))
    if enrollment.stripe_session_id:
        from . import checkout

        state = checkout.close_checkout(enrollment)
        if state == "paid":
            raise DomainError(_l("Uw betaling is al ontvangen. U krijgt zo een bevestiging."))
    enrollment.pay_by = PayBy.INVOICE
    enrollment.payment_status = PaymentStatus.DUE
    enrollment.confirm(by=by, via="invoice")
    issue_enrollment_invoice(enrollment, by=by)
    announce_confirmation(enrollment)
    return enrollment
