"""Demo receivables: an enrollment invoice that is overdue, partly paid and reminded once, so
/admin/receivables shows days overdue, an amount paid and a last reminder on the first day.

Runs after the enrollment seeder (it takes Lotte's open invoice from there). Idempotent: an
invoice already overdue is left as it is. Other seeders may add overdue invoices of their own.
"""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from ...auth.models import User
from ...extensions import db
from .invoices import Invoice, InvoiceStatus
from .receivables import InvoiceReminder, register_payment, today

DEMO_BUYER = "begeleider@example.nl"
STAFF = "beheer@example.nl"


def seed() -> None:
    overdue_enrollment_invoice()


def overdue_enrollment_invoice() -> Invoice | None:
    buyer, staff = User.by_email(DEMO_BUYER), User.by_email(STAFF)
    if buyer is None or staff is None:
        return None
    invoice = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.buyer_user_id == buyer.id,
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.credit_for_id.is_(None),
        )
        .order_by(Invoice.id)
    ).first()
    if invoice is None or invoice.due_date < today():
        return invoice
    # Issued 45 days ago on a 14-day term: a month overdue, past the first automatic reminder.
    shift = timedelta(days=45) + (invoice.issue_date - today())
    invoice.issue_date -= shift
    invoice.due_date -= shift
    db.session.flush()
    register_payment(invoice, Decimal("100.00"), invoice.issue_date + timedelta(days=10), by=staff)
    db.session.add(
        InvoiceReminder(
            invoice_id=invoice.id, sent_on=invoice.due_date + timedelta(days=7), automatic=True
        )
    )
    db.session.flush()
    return invoice
