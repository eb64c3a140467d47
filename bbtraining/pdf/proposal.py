"""The proposal (offerte) for an inhouse training, with its sessions, costs and signature block."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from fpdf import XPos, YPos

from .layout import (
    ACCENT,
    FONT,
    MUTED,
    RIGHT_COLUMN_X,
    RULE,
    WARNING,
    WATERMARK,
    Document,
    Party,
    PriceTable,
    long_date,
    money_table,
    session_when,
    table_style,
    totals,
)


@dataclass(frozen=True)
class SessionLine:
    start: datetime
    end: datetime
    location: str
    trainer: str


@dataclass(frozen=True)
class ProposalDoc:
    reference: str
    version: int
    issue_date: date
    valid_until: date
    seller: Party
    client: Party
    course_title: str
    sessions: tuple[SessionLine, ...]
    prices: PriceTable
    terms: str
    superseded: bool = False
    draft: bool = False  # a preview for staff, not sent
    accepted_on: date | None = None
    accepted_by: str = ""
    reverse_charge_note: str | None = None  # "btw verlegd" under the totals


# --- Proposal ---------------------------------------------------------------------------------


def render_proposal(doc: ProposalDoc) -> bytes:
    """Proposal (offerte) for a training; a superseded version or a draft is marked on every
    page; an accepted one says when and by whom instead of asking for a signature."""
    title = _("Offerte")
    version = _("versie %(version)s", version=doc.version)
    pdf = Document(
        title=f"{title} {doc.reference} ({version})",
        author=doc.seller.name,
        footer=f"{doc.seller.name} · {title} {doc.reference}, {version}",
        watermark=_watermark(doc),
    )
    top = pdf.t_margin
    right_width = pdf.w - pdf.r_margin - RIGHT_COLUMN_X

    pdf.write_text(title, y=top, width=90, size=22, bold=True, color=ACCENT, height=10)
    left_end = pdf.get_y()
    seller_end = pdf.party(doc.seller, x=RIGHT_COLUMN_X, y=top, width=right_width, align="R")
    y = max(left_end, seller_end) + 6

    notice = _notice(doc)
    if notice:
        pdf.set_xy(pdf.l_margin, y)
        # A local context, because tables pick up a leftover fill colour for every cell.
        with pdf.local_context(
            fill_color=WATERMARK, text_color=WARNING, font_style="B", font_size_pt=10
        ):
            pdf.multi_cell(
                pdf.epw, 6, notice, fill=True, padding=(2, 3), new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
        y = pdf.get_y() + 2

    y += 4
    client_end = pdf.party(doc.client, x=pdf.l_margin, y=y, width=86, label=_("Opgesteld voor"))
    meta = [
        (_("Kenmerk"), doc.reference),
        (_("Versie"), str(doc.version)),
        (_("Datum"), long_date(doc.issue_date)),
        (_("Geldig tot"), long_date(doc.valid_until)),
    ]
    meta_end = pdf.key_values(
        meta, x=RIGHT_COLUMN_X, y=y + 4.5, label_width=36, value_width=right_width - 36
    )
    pdf.set_xy(pdf.l_margin, max(client_end, meta_end) + 4)

    pdf.heading(_("Training"))
    pdf.write_text(doc.course_title, size=13, bold=True, height=6.5)

    pdf.heading(_("Sessies"))
    if doc.sessions:
        _sessions_table(pdf, doc.sessions)
    else:
        pdf.write_text(_("Data in overleg."), size=9.5)

    pdf.heading(_("Kosten"))
    money_table(pdf, doc.prices.lines)
    totals(pdf, doc.prices)
    if doc.reverse_charge_note:
        pdf.ln(4)
        pdf.write_text(doc.reverse_charge_note, size=10, bold=True)

    if doc.terms.strip():
        pdf.heading(_("Voorwaarden"), space_before=10)
        pdf.write_text(doc.terms.strip(), size=9, height=4.4)

    if doc.accepted_on:
        pdf.heading(_("Akkoord"), space_before=10)
        pdf.write_text(
            _(
                "Geaccepteerd op %(date)s door %(name)s.",
                date=long_date(doc.accepted_on),
                name=doc.accepted_by,
            ),
            size=9.5,
        )
    elif not doc.superseded:
        _acceptance_block(pdf)
    return pdf.output_bytes()


def _watermark(doc: ProposalDoc) -> str | None:
    if doc.draft:
        return _("Concept").upper()
    if doc.superseded:
        return _("Vervallen").upper()
    return None


def _notice(doc: ProposalDoc) -> str | None:
    if doc.draft:
        return _("Concept: deze offerte is nog niet verstuurd en nog niet geldig.")
    if doc.superseded:
        return _(
            "Deze versie van de offerte is vervangen door een nieuwere en is niet meer geldig."
        )
    return None


def _sessions_table(pdf: Document, sessions: Sequence[SessionLine]) -> None:
    pdf.set_font(FONT, "", 9.5)
    with pdf.table(col_widths=(50, 28, 52, 40), **table_style()) as table:
        head = table.row()
        for heading in (_("Datum"), _("Tijd"), _("Locatie"), _("Trainer")):
            head.cell(heading)
        for session in sorted(sessions, key=lambda s: s.start):
            day, times = session_when(session.start, session.end)
            table.row((day, times, session.location, session.trainer))
    pdf.set_font(FONT, "", 10)


def _acceptance_block(pdf: Document) -> None:
    if pdf.will_page_break(50):
        pdf.add_page()
    pdf.heading(_("Akkoord"), space_before=10)
    pdf.write_text(
        _("Onderteken deze offerte en stuur hem terug om de boeking te bevestigen."), size=9.5
    )
    labels = (_("Naam"), _("Datum"), _("Handtekening"))
    column = pdf.epw / len(labels)
    y = pdf.get_y() + 16
    pdf.set_draw_color(*MUTED)
    for index, label in enumerate(labels):
        x = pdf.l_margin + index * column
        pdf.line(x, y, x + column - 8, y)
        pdf.write_text(label, x=x, y=y + 1, width=column - 8, size=8.5, color=MUTED)
    pdf.set_draw_color(*RULE)
    pdf.set_xy(pdf.l_margin, y + 8)
