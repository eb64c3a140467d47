"""The sign-in sheet (presentielijst) of one session, with a signature column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext

from .layout import ACCENT, FONT, Document, join_names, session_when, table_style


@dataclass(frozen=True)
class SignInSheetDoc:
    title: str
    start: datetime
    end: datetime
    location: str
    trainers: tuple[str, ...]
    participants: tuple[tuple[str, str], ...]  # (name, organisation)


# --- Sign-in sheet ----------------------------------------------------------------------------


def render_sign_in_sheet(doc: SignInSheetDoc) -> bytes:
    """Attendance list with a signature column; the table header repeats on every page."""
    heading = _("Presentielijst")
    day, times = session_when(doc.start, doc.end)
    pdf = Document(
        title=f"{heading} – {doc.title}",
        author=join_names(doc.trainers) or doc.title,
        footer=f"{heading} · {doc.title} · {day}",
    )
    pdf.write_text(heading, size=20, bold=True, color=ACCENT, height=9)
    pdf.write_text(doc.title, size=13, bold=True, height=6.5)
    pdf.ln(2)
    meta = [(_("Datum"), f"{day}, {times}"), (_("Locatie"), doc.location)]
    if doc.trainers:
        meta.append((ngettext("Trainer", "Trainers", len(doc.trainers)), join_names(doc.trainers)))
    end = pdf.key_values(
        meta, x=pdf.l_margin, y=pdf.get_y(), label_width=28, value_width=pdf.epw - 28
    )
    pdf.set_xy(pdf.l_margin, end + 6)

    pdf.set_font(FONT, "", 10)
    style = table_style(borders_layout="ALL", v_align="MIDDLE", line_height=5)
    with pdf.table(col_widths=(9, 58, 52, 55), min_row_height=11, **style) as table:
        head = table.row()
        for heading_text in ("#", _("Naam"), _("Organisatie"), _("Handtekening")):
            head.cell(heading_text)
        for number, (name, organisation) in enumerate(doc.participants, start=1):
            table.row((str(number), name, organisation, ""))
    return pdf.output_bytes()
