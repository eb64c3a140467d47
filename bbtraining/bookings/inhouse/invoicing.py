"""The invoice of an inhouse booking after delivery, its copy at Stripe, and payment: a paid
invoice moves its booking to paid.
"""

import hashlib
import logging
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ... import audit, vat
from ...auth.models import User
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...notifications.services import Attachment
from ..billing.amounts import MoneyLine, line_amount
from ..billing.invoices import (
    Invoice,
    InvoiceStatus,
    PaymentMethod,
    invoice_pdf,
    issue_invoice,
)
from ..billing.stripe_client import get_client, stripe_enabled
from . import addenda
from .drafts import LineDraft, check_lines
from .mail import mail_client_side
from .models import InhouseBooking, InhouseStatus, InhouseStripeObject

log = logging.getLogger(__name__)


def invoice_lines_from_proposal(booking: InhouseBooking) -> list[LineDraft]:
    """The accepted proposal's lines, then those of the accepted addenda (extra sessions)."""
    proposal = booking.accepted_proposal
    if proposal is None:
        return []
    return [
        LineDraft(line.kind, line.description, line.quantity, line.unit_price)
        for line in proposal.lines
    ] + addenda.invoice_lines(booking)


def issue_booking_invoice(
    booking: InhouseBooking,
    *,
    by: User,
    lines: Sequence[LineDraft],
    billing_address: str = "",
) -> Invoice:
    """A numbered invoice with the client's PO number, after delivery."""
    if not booking.can_move_to(InhouseStatus.INVOICED):
        raise DomainError(
            _l(
                "Een factuur maakt u na afloop; deze boeking heeft status ‘%(status)s’.",
                status=booking.status_label,
            )
        )
    if booking.invoice_id is not None:
        raise DomainError(_l("Voor deze boeking is al een factuur gemaakt."))
    waiting = addenda.open_addenda(booking)
    if waiting:
        raise DomainError(
            _l(
                "Aanvulling %(number)s (%(description)s) wacht nog op akkoord van de klant. "
                "Factureer als de klant heeft geaccepteerd, of markeer de sessie als inbegrepen.",
                number=waiting[0].number,
                description=waiting[0].description,
            )
        )
    check_lines(lines)
    proposal = booking.accepted_proposal
    organisation = booking.organisation
    # What the accepted proposal offered; without one, what the organisation's number allows.
    reverse_charge = (
        proposal.reverse_charge
        if proposal
        else vat.reverse_charge(organisation.country, organisation.vat_number)
    ) and bool(organisation.vat_number)
    vat_rate = (
        Decimal(0)
        if reverse_charge
        else (proposal.vat_rate if proposal else booking.course.vat_rate)
    )
    billing_address = (billing_address or "").strip()
    booking.billing_address = billing_address or booking.billing_address
    invoice = issue_invoice(
        subject_type="inhouse",
        subject_id=booking.id,
        buyer_name=booking.organisation.name,
        buyer_address="\n".join(
            part
            for part in (
                _("t.a.v. %(name)s", name=booking.contact_name),
                booking.billing_address or booking.organisation.address or "",
            )
            if part
        ),
        buyer_email=booking.contact_email,
        buyer_vat_number=organisation.vat_number if reverse_charge else None,
        reverse_charge=reverse_charge,
        buyer_user=booking.accepted_by or booking.requested_by,
        buyer_organisation=booking.organisation,
        reference=booking.po_number,
        lines=[MoneyLine(ln.description, ln.quantity, ln.unit_price, vat_rate) for ln in lines],
        by=by,
    )
    booking.invoice = invoice
    booking.move_to(InhouseStatus.INVOICED, by=by, note=invoice.number)
    mail_client_side(
        booking,
        subject=_l(
            "Factuur %(number)s voor %(course)s", number=invoice.number, course=booking.course.title
        ),
        template="bookings/inhouse_invoice",
        context={"invoice": invoice, "online": stripe_enabled()},
        attachments=[
            Attachment(f"factuur-{invoice.number}.pdf", "application/pdf", invoice_pdf(invoice))
        ],
    )
    return invoice


def booking_for_invoice(invoice: Invoice) -> InhouseBooking | None:
    if invoice.subject_type != "inhouse":
        return None
    return db.session.get(InhouseBooking, invoice.subject_id)


def _cents(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _stripe_object(kind: str, key: str, create) -> str:
    row = db.session.scalar(
        select(InhouseStripeObject).where(
            InhouseStripeObject.kind == kind, InhouseStripeObject.key == key
        )
    )
    if row is None:
        row = InhouseStripeObject(kind=kind, key=key, stripe_id=create().id)
        db.session.add(row)
        db.session.flush()
    return row.stripe_id


def push_invoice_to_stripe(invoice: Invoice) -> str | None:
    """Create the invoice at Stripe too (sent by Stripe, due in 30 days); returns its id.

    Runs in a task after the invoice was committed. Every call carries an idempotency key
    derived from our ids, so a retry after a crash finds the objects it already created instead
    of duplicating them (Stripe keeps keys for 24 hours; the sweep retries well within that).
    """
    if invoice.stripe_invoice_id or not stripe_enabled():
        return invoice.stripe_invoice_id
    booking = booking_for_invoice(invoice)
    if booking is None or invoice.status != InvoiceStatus.OPEN:
        return None
    client = get_client()
    key = f"bbt-inhouse-invoice-{invoice.id}"
    # One customer per organisation and contact: Stripe mails the invoice to the customer's
    # address, and the contact person is who should receive it.
    customer_key = f"{booking.organisation_id}:{booking.contact_email}"
    customer_id = _stripe_object(
        "customer",
        customer_key,
        lambda: client.v1.customers.create(
            params={
                "name": booking.organisation.name,
                "email": booking.contact_email,
                "preferred_locales": ["nl"],
                "metadata": {"bbtraining_organisation_id": str(booking.organisation_id)},
            },
            options={"idempotency_key": "bbt-customer-" + _digest(customer_key)},
        ),
    )
    tax_rates = {
        rate: _stripe_object(
            "tax_rate",
            str(rate),
            lambda rate=rate: client.v1.tax_rates.create(
                params={
                    "display_name": "btw",
                    "percentage": str(rate),
                    "inclusive": False,
                    "country": "NL",
                },
                options={"idempotency_key": f"bbt-tax-rate-{rate}"},
            ),
        )
        for rate in sorted({line.vat_rate for line in invoice.lines})
    }
    description = _("Factuur %(number)s", number=invoice.number)
    if invoice.reference:
        description += " · " + _("uw referentie %(po)s", po=invoice.reference)
    draft = client.v1.invoices.create(
        params={
            "customer": customer_id,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "currency": "eur",
            "description": description,
            "pending_invoice_items_behavior": "exclude",
            "metadata": {
                "bbtraining_invoice_id": str(invoice.id),
                "bbtraining_invoice_number": invoice.number,
                "inhouse_booking": booking.reference,
                "po_number": invoice.reference or "",
            },
        },
        options={"idempotency_key": key},
    )
    if draft.status == "draft":
        for line in invoice.lines:
            item = {
                "customer": customer_id,
                "invoice": draft.id,
                "currency": "eur",
                "description": line.description,
                "tax_rates": [tax_rates[line.vat_rate]],
            }
            if line.quantity == line.quantity.to_integral_value():
                item.update(
                    unit_amount_decimal=str(_cents(line.unit_price)),
                    quantity=int(line.quantity),
                )
            else:
                item["amount"] = _cents(line_amount(line.as_money_line()))
            client.v1.invoice_items.create(
                params=item, options={"idempotency_key": f"{key}-line-{line.id}"}
            )
        draft = client.v1.invoices.finalize_invoice(
            draft.id, options={"idempotency_key": f"{key}-finalize"}
        )
    client.v1.invoices.send_invoice(draft.id, options={"idempotency_key": f"{key}-send"})
    invoice.stripe_invoice_id = draft.id
    if draft.total != _cents(invoice.total):
        # Stripe rounds VAT per line, we per rate; our PDF is the legal invoice.
        log.warning(
            "stripe invoice %s total %s differs from %s", draft.id, draft.total, invoice.total
        )
    booking.record_event("stripe_invoice", note=invoice.number)
    audit.record("invoice.stripe_created", invoice, stripe_invoice_id=draft.id)
    return draft.id


def invoices_waiting_for_stripe() -> list[Invoice]:
    """Inhouse invoices that should be at Stripe but are not yet (the task was lost)."""
    if not stripe_enabled():
        return []
    return list(
        db.session.scalars(
            select(Invoice).where(
                Invoice.subject_type == "inhouse",
                Invoice.stripe_invoice_id.is_(None),
                Invoice.status == InvoiceStatus.OPEN,
                Invoice.credit_for_id.is_(None),
            )
        )
    )


def stripe_invoice_paid(event, client) -> str:
    """Stripe says an invoice was paid: believe Stripe's current state of it, not the payload
    (events can arrive late or out of order), and mark ours paid once."""
    stripe_id = event.data.object.id
    invoice = db.session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == stripe_id))
    if invoice is None:
        return "unknown invoice"
    fresh = client.v1.invoices.retrieve(stripe_id)
    if fresh.status != "paid":
        return f"not paid ({fresh.status})"
    try:
        invoice.mark_paid(PaymentMethod.STRIPE_INVOICE)
    except DomainError as exc:
        return f"refused: {exc}"
    return "paid"


def booking_follows_its_invoice(invoice: Invoice, by=None, **_kwargs) -> None:
    """An inhouse invoice marked paid (staff's bank-transfer button, or the Stripe webhook)
    moves its booking to `paid`."""
    if invoice.subject_type != "inhouse":
        return
    booking = db.session.scalar(
        select(InhouseBooking).where(InhouseBooking.invoice_id == invoice.id)
    )
    if booking is not None and booking.status == InhouseStatus.INVOICED:
        booking.move_to(InhouseStatus.PAID, by=by or _signed_in_user(), note=invoice.number)


def _signed_in_user() -> User | None:
    """Whoever is signed in to the request at hand (staff's button), or None (a webhook)."""
    try:
        if current_user and current_user.is_authenticated:
            return current_user._get_current_object()
    except (RuntimeError, AttributeError):  # no request: worker, CLI
        return None
    return None
