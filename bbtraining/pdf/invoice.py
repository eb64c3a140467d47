"""The invoice and the credit invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from fpdf import XPos, YPos

from .layout import (
    ACCENT,
    BLACK,
    FONT,
    RIGHT_COLUMN_X,
    RULE,
    Document,
    Party,
    PriceTable,
    long_date,
    money,
    money_table,
    totals,
)


@dataclass(frozen=True)
class InvoiceDoc:
    number: str
    issue_date: date
    due_date: date
    seller: Party
    buyer: Party
    prices: PriceTable
    reference: str | None = None  # the client's PO number or debtor reference
    payment_note: str | None = None  # e.g. IBAN and "vermeld het factuurnummer"
    credit_for: str | None = None  # number of the invoice this credit invoice corrects
    paid: bool = False
    # "Btw verlegd": the legal text printed under the totals; both VAT numbers are on the parties.
    reverse_charge_note: str | None = None


def _stamp(pdf: Document, text: str, *, x: float, y: float) -> None:
    pdf.set_font(FONT, "B", 11)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.6)
    pdf.set_text_color(*ACCENT)
    pdf.set_xy(x, y)
    pdf.cell(
        pdf.get_string_width(text) + 8,
        8,
        text,
        border=1,
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_line_width(0.2)
    pdf.set_draw_color(*RULE)
    pdf.set_text_color(*BLACK)
    pdf.set_font(FONT, "", 10)


def render_invoice(doc: InvoiceDoc) -> bytes:
    """Invoice, or credit invoice when ``credit_for`` is set (its lines carry negative amounts)."""
    title = _("Creditfactuur") if doc.credit_for else _("Factuur")
    pdf = Document(
        title=f"{title} {doc.number}",
        author=doc.seller.name,
        footer=f"{doc.seller.name} · {title} {doc.number}",
    )
    top = pdf.t_margin
    right_width = pdf.w - pdf.r_margin - RIGHT_COLUMN_X

    pdf.write_text(title, y=top, width=90, size=22, bold=True, color=ACCENT, height=10)
    if doc.paid:
        _stamp(pdf, _("Betaald").upper(), x=pdf.l_margin, y=pdf.get_y() + 2)
    left_end = pdf.get_y()
    seller_end = pdf.party(doc.seller, x=RIGHT_COLUMN_X, y=top, width=right_width, align="R")

    y = max(left_end, seller_end) + 10
    buyer_end = pdf.party(doc.buyer, x=pdf.l_margin, y=y, width=86, label=_("Factuur aan"))
    meta = [
        (_("Factuurnummer"), doc.number),
        (_("Factuurdatum"), long_date(doc.issue_date)),
        (_("Vervaldatum"), long_date(doc.due_date)),
    ]
    if doc.reference:
        meta.append((_("Uw referentie"), doc.reference))
    if doc.credit_for:
        meta.append((_("Crediteert factuur"), doc.credit_for))
    meta_end = pdf.key_values(
        meta, x=RIGHT_COLUMN_X, y=y + 4.5, label_width=36, value_width=right_width - 36
    )

    pdf.set_xy(pdf.l_margin, max(buyer_end, meta_end) + 10)
    money_table(pdf, doc.prices.lines)
    totals(pdf, doc.prices)

    total = doc.prices.total
    notes: list[str] = []
    if doc.reverse_charge_note:
        pdf.ln(4)
        pdf.write_text(doc.reverse_charge_note, size=10, bold=True)
    if doc.paid:
        notes.append(_("Deze factuur is betaald. U hoeft niets meer te betalen."))
    else:
        if total > 0:
            notes.append(
                _(
                    "Wij verzoeken u %(amount)s vóór %(date)s te betalen.",
                    amount=money(total),
                    date=long_date(doc.due_date),
                )
            )
        elif total < 0:
            notes.append(
                _("Het bedrag van %(amount)s wordt aan u terugbetaald.", amount=money(-total))
            )
        if doc.payment_note:
            notes.append(doc.payment_note)
    if notes:
        pdf.ln(8)
        for note in notes:
            pdf.write_text(note, size=9.5)
            pdf.ln(1)
    return pdf.output_bytes()
