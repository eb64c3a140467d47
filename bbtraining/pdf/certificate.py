"""The certificate of participation: landscape A4 with a verification code and URL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import ngettext
from fpdf import FPDF

from .layout import ACCENT, BLACK, FONT, MUTED, RGB, Document, join_names, long_date


@dataclass(frozen=True)
class CertificateDoc:
    participant_name: str
    course_title: str
    dates: tuple[date, ...]
    trainer_names: tuple[str, ...]
    code: str
    verify_url: str
    issuer: str


# --- Certificate ------------------------------------------------------------------------------


def render_certificate(doc: CertificateDoc) -> bytes:
    """Landscape A4 certificate of participation with its verification code and URL."""
    heading = _("Certificaat van deelname")
    pdf = Document(
        title=f"{heading} – {doc.participant_name}",
        author=doc.issuer,
        footer=None,
        orientation="landscape",
    )
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_line_width(0.3)
    pdf.rect(14, 14, pdf.w - 28, pdf.h - 28)

    inner_x, inner_width = 30.0, pdf.w - 60.0

    def centered(text: str, size: float, *, bold: bool = False, color: RGB = BLACK) -> None:
        pdf.write_text(
            text,
            x=inner_x,
            width=inner_width,
            size=size,
            bold=bold,
            color=color,
            align="C",
            height=size * 0.45,
        )

    pdf.set_y(26)
    pdf.set_char_spacing(1.5)
    centered(doc.issuer.upper(), 10, bold=True, color=MUTED)
    pdf.set_char_spacing(0)
    pdf.ln(9)
    centered(heading, 30, bold=True, color=ACCENT)
    rule_y = pdf.get_y() + 3
    pdf.line(pdf.w / 2 - 30, rule_y, pdf.w / 2 + 30, rule_y)
    pdf.set_y(rule_y + 9)

    centered(_("Hierbij verklaren wij dat"), 13, color=MUTED)
    pdf.ln(4)
    centered(doc.participant_name, _fit_size(pdf, doc.participant_name, 30, inner_width), bold=True)
    pdf.ln(4)
    centered(_("heeft deelgenomen aan de training"), 13, color=MUTED)
    pdf.ln(4)
    centered(doc.course_title, 20, bold=True, color=ACCENT)

    pdf.ln(5)
    if doc.dates:
        dates = join_names(long_date(day) for day in sorted(set(doc.dates)))
        centered(_("op %(dates)s", dates=dates), 11.5)
        pdf.ln(1)
    if doc.trainer_names:
        trainers = ngettext(
            "Trainer: %(names)s",
            "Trainers: %(names)s",
            len(doc.trainer_names),
            names=join_names(doc.trainer_names),
        )
        centered(trainers, 11.5)

    # The signature area is pinned to the bottom; it moves down only if the text ran long.
    bottom_y = max(pdf.h - 48, pdf.get_y() + 6)
    half = inner_width / 2
    pdf.set_draw_color(*MUTED)
    pdf.line(inner_x, bottom_y, inner_x + 75, bottom_y)
    pdf.write_text(doc.issuer, x=inner_x, y=bottom_y + 1.5, width=half, size=10, bold=True)
    pdf.write_text(_("Uitgereikt door"), x=inner_x, width=half, size=8.5, color=MUTED)

    right_x = inner_x + half
    code = _("Verificatiecode: %(code)s", code=doc.code)
    pdf.write_text(code, x=right_x, y=bottom_y + 1.5, width=half, size=10, bold=True, align="R")
    pdf.write_text(
        _("Controleer dit certificaat op"), x=right_x, width=half, size=8.5, color=MUTED, align="R"
    )
    pdf.write_text(
        doc.verify_url,
        x=right_x,
        width=half,
        size=8.5,
        color=ACCENT,
        align="R",
        link=doc.verify_url,
    )
    return pdf.output_bytes()


def _fit_size(pdf: FPDF, text: str, size: float, width: float, *, minimum: float = 18) -> float:
    """Largest font size up to ``size`` at which ``text`` fits on one line; longer text wraps."""
    pdf.set_font(FONT, "B", size)
    text_width = pdf.get_string_width(text) + 2 * pdf.c_margin
    if text_width <= width:
        return size
    return max(minimum, size * width / text_width)
