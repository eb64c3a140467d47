"""Receivables: open invoices, the payments staff register on them, and payment reminders.

Every open invoice (enrollment and inhouse alike) is listed with what came in and how late it
is. A bank payment is registered with its date and amount; several partial payments may add up,
and the invoice is paid (`Invoice.mark_paid`, so enrollments and bookings follow) when they
reach its total. Reminders go to the buyer through the outbox: by hand, or by the daily beat
task some days after the due date and then at an interval, at most a few times. An invoice gets
at most one reminder a day, whoever sends it: the unique (invoice, day) row refuses a second.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import format_currency
from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ... import audit
from ...auth.models import User
from ...db_types import UTCDateTime, utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...notifications.services import Attachment, queue_mail
from ...urls import public_url
from .invoices import AMSTERDAM, Invoice, InvoiceStatus, PaymentMethod, invoice_pdf


class InvoicePayment(db.Model):
    """One payment received on an invoice (a bank transfer registered by staff)."""

    __tablename__ = "invoice_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    paid_on: Mapped[date]
    method: Mapped[str] = mapped_column(String(20), default=PaymentMethod.BANK_TRANSFER)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class InvoiceReminder(db.Model):
    """A payment reminder sent for an invoice; one per invoice per day at most."""

    __tablename__ = "invoice_reminder"
    __table_args__ = (UniqueConstraint("invoice_id", "sent_on", name="uq_invoice_reminder_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    sent_on: Mapped[date]
    automatic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


def today() -> date:
    """Today on the Dutch calendar: due dates and payment dates are Dutch dates."""
    return utcnow().astimezone(AMSTERDAM).date()


# -- the list ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receivable:
    invoice: Invoice
    days_overdue: int  # 0 when not yet due
    reminders: int
    last_reminder_on: date | None

    @property
    def party(self) -> str:
        return self.invoice.buyer_name

    @property
    def kind_label(self) -> str:
        return str(
            _l("Inschrijving") if self.invoice.subject_type == "enrollment" else _l("Inhouse")
        )


def open_invoices_query():
    """Invoices still to be paid: open, not a credit invoice, something left to pay."""
    return select(Invoice).where(
        Invoice.status == InvoiceStatus.OPEN,
        Invoice.credit_for_id.is_(None),
        Invoice.total > Invoice.amount_paid + Invoice.amount_credited,
    )


def open_invoice_count() -> int:
    return db.session.scalar(select(func.count()).select_from(open_invoices_query().subquery()))


def receivables(*, overdue_only: bool = False, on: date | None = None) -> list[Receivable]:
    """The open invoices, the longest overdue first, each with its reminders."""
    on = on or today()
    query = open_invoices_query().order_by(Invoice.due_date, Invoice.id)
    if overdue_only:
        query = query.where(Invoice.due_date < on)
    invoices = db.session.scalars(query).all()
    sent = {
        invoice_id: (count, last)
        for invoice_id, count, last in db.session.execute(
            select(
                InvoiceReminder.invoice_id,
                func.count(InvoiceReminder.id),
                func.max(InvoiceReminder.sent_on),
            )
            .where(InvoiceReminder.invoice_id.in_([i.id for i in invoices]))
            .group_by(InvoiceReminder.invoice_id)
        )
    }
    return [
        Receivable(
            invoice=invoice,
            days_overdue=max((on - invoice.due_date).days, 0),
            reminders=sent.get(invoice.id, (0, None))[0],
            last_reminder_on=sent.get(invoice.id, (0, None))[1],
        )
        for invoice in invoices
    ]


def export_table(
    items: list[Receivable], *, comma_decimals: bool = False
) -> tuple[list[str], list[list[object]]]:
    """Headers and rows of the export. A CSV gets amounts as Dutch Excel reads them ("1210,00");
    a workbook gets real numbers."""

    def amount(value: Decimal) -> object:
        return f"{value:.2f}".replace(".", ",") if comma_decimals else value

    headers = [
        str(_l("Factuur")),
        str(_l("Soort")),
        str(_l("Debiteur")),
        str(_l("E-mailadres")),
        str(_l("Factuurdatum")),
        str(_l("Vervaldatum")),
        str(_l("Dagen te laat")),
        str(_l("Bedrag incl. btw")),
        str(_l("Betaald")),
        str(_l("Openstaand")),
        str(_l("Herinneringen")),
        str(_l("Laatste herinnering")),
    ]
    rows = [
        [
            r.invoice.number,
            r.kind_label,
            r.party,
            r.invoice.buyer_email or "",
            r.invoice.issue_date,
            r.invoice.due_date,
            r.days_overdue,
            amount(r.invoice.total),
            amount(r.invoice.amount_paid),
            amount(r.invoice.open_amount),
            r.reminders,
            r.last_reminder_on or "",
        ]
        for r in items
    ]
    return headers, rows


# -- payments ---------------------------------------------------------------------------------
def check_payment(invoice: Invoice, amount: Decimal | None, paid_on: date | None) -> None:
    """Refuse a payment that cannot be right, with a message on the field it is about."""
    if invoice.status != InvoiceStatus.OPEN or invoice.is_credit:
        raise DomainError(_l("Op deze factuur staat niets meer open."))
    if amount is None or amount <= 0:
        raise DomainError(_l("Vul een bedrag groter dan 0 in."), field="amount")
    if amount > invoice.open_amount:
        raise DomainError(
            _l(
                "Het bedrag is hoger dan wat nog openstaat (%(open)s).",
                open=format_currency(invoice.open_amount, "EUR"),
            ),
            field="amount",
        )
    if paid_on is None:
        raise DomainError(_l("Vul de datum van de betaling in."), field="paid_on")
    if paid_on > today():
        raise DomainError(_l("De betaaldatum ligt in de toekomst."), field="paid_on")
    if paid_on < invoice.issue_date:
        raise DomainError(_l("De betaaldatum ligt vóór de factuurdatum."), field="paid_on")


def _lock_invoice(invoice_id: int) -> Invoice:
    """Reload the invoice and keep others from changing it until this transaction ends, so two
    staff registering at once cannot pay it twice. PostgreSQL: SELECT ... FOR UPDATE; SQLite has
    no row locks, but a no-op UPDATE takes its single writer lock before we read."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(Invoice)
            .where(Invoice.id == invoice_id)
            .values(status=Invoice.status)
            .execution_options(synchronize_session=False)
        )
        return db.session.get(Invoice, invoice_id, populate_existing=True)
    return db.session.get(Invoice, invoice_id, with_for_update=True, populate_existing=True)


def register_payment(invoice: Invoice, amount: Decimal, paid_on: date, *, by) -> InvoicePayment:
    """Record a bank payment; the invoice is paid once the payments reach its total."""
    invoice = _lock_invoice(invoice.id)
    check_payment(invoice, amount, paid_on)
    payment = InvoicePayment(
        invoice_id=invoice.id,
        amount=amount,
        paid_on=paid_on,
        method=PaymentMethod.BANK_TRANSFER,
        recorded_by_id=by.id,
    )
    db.session.add(payment)
    invoice.amount_paid = (invoice.amount_paid or Decimal("0.00")) + amount
    audit.record(
        "invoice.payment_registered",
        invoice,
        actor=by,
        number=invoice.number,
        amount=str(amount),
        paid_on=paid_on.isoformat(),
        amount_paid=str(invoice.amount_paid),
    )
    if invoice.settled_amount >= invoice.total:
        invoice.mark_paid(PaymentMethod.BANK_TRANSFER, by=by)
    db.session.flush()
    return payment


def payments_of(invoice: Invoice) -> list[InvoicePayment]:
    return list(
        db.session.scalars(
            select(InvoicePayment)
            .where(InvoicePayment.invoice_id == invoice.id)
            .order_by(InvoicePayment.paid_on, InvoicePayment.id)
        )
    )


# -- reminders --------------------------------------------------------------------------------
def reminders_of(invoice: Invoice) -> list[InvoiceReminder]:
    return list(
        db.session.scalars(
            select(InvoiceReminder)
            .where(InvoiceReminder.invoice_id == invoice.id)
            .order_by(InvoiceReminder.sent_on)
        )
    )


def send_reminder(invoice: Invoice, *, by=None, on: date | None = None) -> InvoiceReminder:
    """Mail the buyer a payment reminder with the invoice attached (by staff, or automatic
    when `by` is None). Refused when nothing is open or a reminder went out today."""
    on = on or today()
    if invoice.open_amount <= 0 or invoice.is_credit:
        raise DomainError(_l("Op deze factuur staat niets meer open."))
    if not invoice.buyer_email:
        raise DomainError(
            _l("Deze factuur heeft geen e-mailadres om een herinnering naar te sturen.")
        )
    already = db.session.scalar(
        select(InvoiceReminder.id).where(
            InvoiceReminder.invoice_id == invoice.id, InvoiceReminder.sent_on == on
        )
    )
    if already is not None:
        raise DomainError(_l("Vandaag is al een herinnering voor deze factuur verstuurd."))
    count = len(reminders_of(invoice)) + 1
    reminder = InvoiceReminder(
        invoice_id=invoice.id, sent_on=on, automatic=by is None, sent_by_id=getattr(by, "id", None)
    )
    db.session.add(reminder)
    buyer = db.session.get(User, invoice.buyer_user_id) if invoice.buyer_user_id else None
    queue_mail(
        to=buyer
        if buyer is not None and buyer.email == invoice.buyer_email
        else invoice.buyer_email,
        subject=_l("Herinnering: factuur %(number)s staat nog open", number=invoice.number),
        template="bookings/invoice_reminder",
        context={
            "invoice": invoice,
            "buyer_name": invoice.buyer_name,
            "days_overdue": max((on - invoice.due_date).days, 0),
            "reminder_number": count,
            "invoice_url": public_url("bookings.invoice_download", invoice_id=invoice.id),
            "payment_note": current_app.config.get("SELLER_PAYMENT_NOTE"),
        },
        attachments=[
            Attachment(f"factuur-{invoice.number}.pdf", "application/pdf", invoice_pdf(invoice))
        ],
        # The database holds the once-a-day rule even against two simultaneous senders.
        dedupe_key=f"invoice-reminder:{invoice.id}:{on.isoformat()}",
    )
    audit.record(
        "invoice.reminder_sent",
        invoice,
        actor=by,
        number=invoice.number,
        automatic=by is None,
        reminder=count,
        open=str(invoice.open_amount),
    )
    db.session.flush()
    return reminder


def reminder_due(item: Receivable, on: date) -> bool:
    """Whether the automatic rule sends a reminder today: FIRST days after the due date, then
    every INTERVAL days after the last reminder (any kind), at most MAX in all."""
    config = current_app.config
    first = config["INVOICE_REMINDER_FIRST_DAYS"]
    interval = config["INVOICE_REMINDER_INTERVAL_DAYS"]
    if item.reminders >= config["INVOICE_REMINDER_MAX"] or not item.invoice.buyer_email:
        return False
    if on < item.invoice.due_date + timedelta(days=first):
        return False
    return item.last_reminder_on is None or on >= item.last_reminder_on + timedelta(days=interval)


def due_reminder_ids(on: date | None = None) -> list[int]:
    on = on or today()
    return [r.invoice.id for r in receivables(overdue_only=True, on=on) if reminder_due(r, on)]
