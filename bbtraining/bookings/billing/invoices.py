"""Numbered invoices for enrollments and inhouse bookings.

Numbers are sequential per year with no gaps and no duplicates: the counter row is updated in
the same transaction that writes the invoice, so its row lock serialises concurrent issuers, and
a rolled-back invoice rolls its number back with it.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import current_app
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, aliased, column_property, mapped_column, relationship

from ... import audit, vat
from ...db_types import UTCDateTime, utcnow
from ...errors import DomainError
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...pdf.invoice import InvoiceDoc, render_invoice
from ...pdf.layout import Party
from .amounts import MoneyLine, line_totals, price_table

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# sender: Invoice; by: the user who marked it (None for a webhook). Whatever the invoice was
# for (an enrollment, an inhouse booking) follows it in the same transaction.
invoice_paid = Namespace().signal("invoice-paid")


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    CREDITED = "credited"


class PaymentMethod(StrEnum):
    STRIPE = "stripe"  # Checkout (iDEAL, card)
    STRIPE_INVOICE = "stripe-invoice"
    BANK_TRANSFER = "bank-transfer"


class InvoiceCounter(db.Model):
    __tablename__ = "invoice_counter"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Invoice(db.Model):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("year", "sequence", name="uq_invoice_year_sequence"),
        CheckConstraint("status IN ('open', 'paid', 'credited')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    issue_date: Mapped[date]
    due_date: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who may see it: the buyer, their organisation's clients, staff.
    buyer_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    buyer_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_address: Mapped[str] = mapped_column(Text, default="")
    buyer_email: Mapped[str | None] = mapped_column(String(254))
    buyer_vat_number: Mapped[str | None] = mapped_column(String(30))
    # "Btw verlegd": 0 % VAT, the buyer (a business in another member state) accounts for it.
    reverse_charge: Mapped[bool] = mapped_column(default=False, server_default=false())
    reference: Mapped[str | None] = mapped_column(String(100))  # the client's PO number
    subject_type: Mapped[str] = mapped_column(String(30))  # 'enrollment', 'inhouse'
    subject_id: Mapped[int]
    subtotal: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    vat_total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(10), default=InvoiceStatus.OPEN)
    payment_method: Mapped[str | None] = mapped_column(String(20))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What has come in so far (receivables.register_payment); the invoice is paid at the total.
    amount_paid: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), default=Decimal("0.00"), server_default="0"
    )
    credit_for_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(100), unique=True)

    lines: Mapped[list["InvoiceLine"]] = relationship(
        cascade="all, delete-orphan", order_by="InvoiceLine.position", lazy="selectin"
    )
    credit_for: Mapped["Invoice | None"] = relationship(remote_side=[id])

    @property
    def is_credit(self) -> bool:
        return self.credit_for_id is not None

    @property
    def settled_amount(self) -> Decimal:
        """Paid plus credited: what no longer has to come in."""
        return (self.amount_paid or Decimal("0.00")) + (self.amount_credited or Decimal("0.00"))

    @property
    def open_amount(self) -> Decimal:
        if self.status != InvoiceStatus.OPEN:
            return Decimal("0.00")
        return max(self.total - self.settled_amount, Decimal("0.00"))

    def can_view(self, user) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        if user.is_admin or user.id == self.buyer_user_id:
            return True
        return (
            self.buyer_organisation_id is not None
            and user.organisation_id == self.buyer_organisation_id
            and user.is_client
        )

    def mark_paid(self, method: str, by=None) -> None:
        if self.status == InvoiceStatus.PAID:
            return  # a replayed webhook or a second click changes nothing
        if self.status != InvoiceStatus.OPEN:
            raise DomainError(_l("Deze factuur kan niet meer als betaald worden gemarkeerd."))
        self.status = InvoiceStatus.PAID
        self.payment_method = method
        self.paid_at = utcnow()
        # Everything not credited has come in (a credited seat is not paid for).
        self.amount_paid = self.total - (self.amount_credited or Decimal("0.00"))
        audit.record("invoice.paid", self, actor=by, method=method, number=self.number)
        invoice_paid.send(self, by=by)


class InvoiceLine(db.Model):
    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # excluding VAT
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))

    def as_money_line(self) -> MoneyLine:
        return MoneyLine(self.description, self.quantity, self.unit_price, self.vat_rate)


_credit_note = aliased(Invoice)
# What credit invoices took off this invoice (one seat of a group given back, say), read in the
# same SELECT as the invoice, so that every list of invoices knows what is still open.
Invoice.amount_credited = column_property(
    select(func.coalesce(-func.sum(_credit_note.total), 0))
    .where(_credit_note.credit_for_id == Invoice.id)
    .correlate_except(_credit_note)
    .scalar_subquery()
)


def _next_sequence(year: int) -> int:
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(InvoiceCounter).values(year=year, last_number=0).on_conflict_do_nothing()
    )
    return db.session.execute(
        update(InvoiceCounter)
        .where(InvoiceCounter.year == year)
        .values(last_number=InvoiceCounter.last_number + 1)
        .returning(InvoiceCounter.last_number)
    ).scalar_one()


def issue_invoice(
    *,
    subject_type: str,
    subject_id: int,
    buyer_name: str,
    lines: list[MoneyLine],
    buyer_address: str = "",
    buyer_email: str | None = None,
    buyer_vat_number: str | None = None,
    reverse_charge: bool = False,
    buyer_user=None,
    buyer_organisation=None,
    reference: str | None = None,
    due_days: int = 30,
    credit_for: Invoice | None = None,
    by=None,
) -> Invoice:
    if not lines:
        raise DomainError(_l("Een factuur heeft minstens één regel nodig."))
    if reverse_charge and (not buyer_vat_number or any(line.vat_rate for line in lines)):
        # The law wants the buyer's number on it, and no VAT charged.
        raise ValueError("a reverse-charge invoice needs the buyer's VAT number and 0 % VAT")
    today = utcnow().astimezone(AMSTERDAM).date()
    sequence = _next_sequence(today.year)
    subtotal, vat_per_rate, total = line_totals(lines)
    invoice = Invoice(
        number=f"{today.year}-{sequence:05d}",
        year=today.year,
        sequence=sequence,
        issue_date=today,
        due_date=today + timedelta(days=due_days),
        buyer_user_id=getattr(buyer_user, "id", None),
        buyer_organisation_id=getattr(buyer_organisation, "id", None),
        buyer_name=buyer_name,
        buyer_address=buyer_address or "",
        buyer_email=buyer_email,
        buyer_vat_number=buyer_vat_number or None,
        reverse_charge=reverse_charge,
        reference=reference or None,
        subject_type=subject_type,
        subject_id=subject_id,
        subtotal=subtotal,
        vat_total=sum((vat for _rate, vat in vat_per_rate), Decimal("0.00")),
        total=total,
        credit_for_id=credit_for.id if credit_for else None,
        lines=[
            InvoiceLine(
                position=i,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                vat_rate=line.vat_rate,
            )
            for i, line in enumerate(lines)
        ],
    )
    db.session.add(invoice)
    db.session.flush()
    audit.record(
        "invoice.issued",
        invoice,
        actor=by,
        number=invoice.number,
        total=str(invoice.total),
        subject=f"{subject_type}:{subject_id}",
    )
    return invoice


def issue_credit_invoice(
    original: Invoice,
    *,
    fraction: Decimal = Decimal(1),
    reason: str = "",
    by=None,
    lines: list[MoneyLine] | None = None,
    partial: bool = False,
) -> Invoice:
    """A credit invoice for (part of) an invoice: the same lines with negative quantities, or
    the given negative `lines` (what remains of a group after a seat was credited). `fraction`
    1 without `partial` means the original is now credited in full; `partial` (one seat of a
    group) leaves the original open for the rest."""
    if original.is_credit:
        raise DomainError(_l("Een creditfactuur kan niet zelf worden gecrediteerd."))
    if original.status == InvoiceStatus.CREDITED:
        raise DomainError(_l("Deze factuur is al gecrediteerd."))
    if lines is None:
        lines = [
            MoneyLine(line.description, -(line.quantity * fraction), line.unit_price, line.vat_rate)
            for line in original.lines
        ]
    credit = issue_invoice(
        subject_type=original.subject_type,
        subject_id=original.subject_id,
        buyer_name=original.buyer_name,
        buyer_address=original.buyer_address,
        buyer_email=original.buyer_email,
        buyer_vat_number=original.buyer_vat_number,
        reverse_charge=original.reverse_charge,
        buyer_user=_Ref(original.buyer_user_id),
        buyer_organisation=_Ref(original.buyer_organisation_id),
        reference=original.reference,
        lines=lines,
        credit_for=original,
        by=by,
        due_days=0,
    )
    whole = fraction == 1 and not partial
    if original.status == InvoiceStatus.OPEN and whole:
        # Nothing was paid and everything is credited: the pair settles itself.
        credit.status = InvoiceStatus.PAID
    original.status = InvoiceStatus.CREDITED if whole else original.status
    audit.record("invoice.credited", original, actor=by, credit=credit.number, reason=reason)
    return credit


class _Ref:
    def __init__(self, id_: int | None):
        self.id = id_


def seller_party() -> Party:
    config = current_app.config
    return Party(
        name=config["ORGANISATION_NAME"],
        lines=tuple(line for line in config.get("SELLER_ADDRESS_LINES", ()) if line),
        vat_number=config.get("SELLER_VAT_NUMBER"),
        email=config.get("STAFF_EMAIL"),
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    config = current_app.config
    doc = InvoiceDoc(
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        seller=seller_party(),
        buyer=Party(
            name=invoice.buyer_name,
            lines=tuple(line for line in invoice.buyer_address.splitlines() if line.strip()),
            vat_number=invoice.buyer_vat_number,
            email=invoice.buyer_email,
        ),
        prices=price_table(line.as_money_line() for line in invoice.lines),
        reference=invoice.reference,
        payment_note=config.get("SELLER_PAYMENT_NOTE"),
        credit_for=invoice.credit_for.number if invoice.credit_for else None,
        paid=invoice.status == InvoiceStatus.PAID,
        reverse_charge_note=str(vat.REVERSE_CHARGE_NOTE) if invoice.reverse_charge else None,
    )
    return render_invoice(doc)
