"""What every document shares: fonts and colours, the page with its footer and watermark,
locale-aware formatting, the parties, and the money table with its totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, format_percent
from flask_babel import format_date, format_time, get_locale, to_user_timezone
from flask_babel import gettext as _
from fpdf import FPDF, FontFace, XPos, YPos

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
# Core PDF fonts only cover cp1252: they print "€" and "ë", but raise on names such as
# "Łukasz" or "Şahin", so user-supplied text needs a Unicode TrueType font.
FONT = "dejavu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

CURRENCY = "EUR"

_MARGIN = 18.0
_LINE = 5.0
ACCENT = (23, 74, 94)
MUTED = (95, 95, 95)
RULE = (190, 190, 190)
_LIGHT = (234, 240, 242)
WARNING = (176, 32, 32)
WATERMARK = (246, 214, 214)


# --- Documents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    name: str
    lines: tuple[str, ...] = ()
    vat_number: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class PricedLine:
    description: str
    quantity: Decimal
    unit_price: Decimal  # excluding VAT
    vat_rate: Decimal  # percent, e.g. Decimal("21")
    amount: Decimal  # excluding VAT, rounded as printed


@dataclass(frozen=True)
class VatLine:
    rate: Decimal  # percent
    base: Decimal  # the lines at this rate, excluding VAT
    amount: Decimal


@dataclass(frozen=True)
class PriceTable:
    """The money part of a document, computed by the caller: lines, VAT per rate, totals."""

    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    vat: tuple[VatLine, ...]  # lowest rate first
    total: Decimal


# --- Locale-aware formatting ------------------------------------------------------------------


def _locale() -> Locale:
    locale = get_locale()
    if locale is None:
        raise RuntimeError("Rendering a PDF needs a Flask app context with Flask-Babel set up.")
    return locale


def money(amount: Decimal) -> str:
    return format_currency(amount, CURRENCY, locale=_locale())


def _quantity(quantity: Decimal) -> str:
    return format_decimal(quantity, locale=_locale())


def _percent(rate: Decimal) -> str:
    # Without decimal_quantization=False a 10.5 % rate would print as "10%".
    return format_percent(Decimal(rate) / 100, locale=_locale(), decimal_quantization=False)


def long_date(value: date) -> str:
    return format_date(value, "long")


def join_names(items: Iterable[str]) -> str:
    return format_list(list(items), locale=_locale())


def session_when(start: datetime, end: datetime) -> tuple[str, str]:
    """(date text, time text) in the user's timezone; a session may run past midnight."""
    times = f"{format_time(start, 'short')}–{format_time(end, 'short')}"
    if to_user_timezone(start).date() == to_user_timezone(end).date():
        return format_date(start, "full"), times
    return f"{format_date(start, 'full')} – {format_date(end, 'full')}", times


# --- Layout helpers ---------------------------------------------------------------------------

RGB = tuple[int, int, int]
BLACK: RGB = (0, 0, 0)


class Document(FPDF):
    def __init__(
        self,
        *,
        title: str,
        author: str,
        footer: str | None,
        orientation: str = "portrait",
        watermark: str | None = None,
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        for style, filename in _FONT_FILES.items():
            self.add_font(FONT, style, FONT_DIR / filename)
        self.footer_text = footer
        self.watermark = watermark
        self.set_title(title)
        self.set_author(author)
        self.set_creator("bbtraining")
        self.set_creation_date(datetime.now(UTC))
        self.set_lang(str(_locale()).replace("_", "-"))
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(True, margin=_MARGIN + 4)
        self.alias_nb_pages("{nb}")
        self.set_font(FONT, size=10)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.add_page()

    def header(self) -> None:
        if not self.watermark:
            return
        # Drawn first on every page, so the content is printed over it.
        with self.local_context(font_family=FONT, font_style="B", font_size_pt=64):
            self.set_text_color(*WATERMARK)
            width = self.get_string_width(self.watermark)
            center_x, center_y = self.w / 2, self.h / 2
            with self.rotation(45, center_x, center_y):
                self.text(center_x - width / 2, center_y, self.watermark)

    def footer(self) -> None:
        if self.footer_text is None:
            return
        self.set_y(-(_MARGIN - 4))
        with self.local_context(font_family=FONT, font_style="", font_size_pt=8):
            self.set_text_color(*MUTED)
            page = _("Pagina %(page)s van %(pages)s", page=self.page_no(), pages="{nb}")
            self.cell(0, 4, f"{self.footer_text} · {page}", align="C")

    def write_text(
        self,
        text: str,
        *,
        x: float | None = None,
        y: float | None = None,
        width: float | None = None,
        size: float = 10,
        bold: bool = False,
        color: RGB = BLACK,
        align: str = "L",
        height: float = _LINE,
        link: str | None = None,
    ) -> None:
        """Wrapped text at (x, y), default the current line at the left margin.

        Afterwards the cursor sits below the text at the same x, and the body style is restored.
        """
        x = self.l_margin if x is None else x
        if y is not None:
            self.set_y(y)
        self.set_x(x)
        self.set_font(FONT, "B" if bold else "", size)
        self.set_text_color(*color)
        self.multi_cell(
            self.epw - (x - self.l_margin) if width is None else width,
            height,
            text,
            align=align,
            link=link,
            new_x=XPos.LEFT,
            new_y=YPos.NEXT,
        )
        self.set_font(FONT, "", 10)
        self.set_text_color(*BLACK)

    def heading(self, text: str, *, space_before: float = 6) -> None:
        # Never leave a heading alone at the bottom of a page.
        if self.will_page_break(space_before + 30):
            self.add_page()
        else:
            self.ln(space_before)
        self.write_text(text, size=12, bold=True, color=ACCENT, height=6)
        self.ln(1.5)

    def party(
        self,
        party: Party,
        *,
        x: float,
        y: float,
        width: float,
        label: str | None = None,
        align: str = "L",
    ) -> float:
        """Print a name-and-address block; return the y below it."""
        self.set_y(y)
        if label:
            self.write_text(
                label.upper(),
                x=x,
                width=width,
                size=7.5,
                bold=True,
                color=MUTED,
                align=align,
                height=4.5,
            )
        self.write_text(party.name, x=x, width=width, size=11, bold=True, align=align, height=6)
        details = list(party.lines)
        if party.email:
            details.append(party.email)
        if party.vat_number:
            details.append(_("Btw-nummer: %(number)s", number=party.vat_number))
        for line in details:
            self.write_text(line, x=x, width=width, size=9.5, align=align, height=4.6)
        return self.get_y()

    def key_values(
        self,
        rows: Sequence[tuple[str, str]],
        *,
        x: float,
        y: float,
        label_width: float,
        value_width: float,
    ) -> float:
        """Print label/value pairs as two aligned columns; return the y below them."""
        for label, value in rows:
            self.write_text(label, x=x, y=y, width=label_width, size=9.5, color=MUTED)
            label_end = self.get_y()
            self.write_text(value, x=x + label_width, y=y, width=value_width, size=9.5)
            y = max(label_end, self.get_y())
        return y

    def output_bytes(self) -> bytes:
        return bytes(self.output())


def table_style(**overrides: object) -> dict[str, object]:
    style: dict[str, object] = {
        "borders_layout": "HORIZONTAL_LINES",
        "headings_style": FontFace(emphasis="BOLD", size_pt=9, color=ACCENT, fill_color=_LIGHT),
        "line_height": 4.6,
        "padding": (1.6, 1.8),
        "repeat_headings": 1,
        "text_align": "LEFT",
        "v_align": "TOP",
    }
    style.update(overrides)
    return style


def money_table(pdf: Document, lines: Sequence[PricedLine]) -> None:
    headings = (_("Omschrijving"), _("Aantal"), _("Stukprijs"), _("Btw"), _("Bedrag"))
    pdf.set_font(FONT, "", 9.5)
    with pdf.table(col_widths=(71, 21, 27, 16, 35), **table_style()) as table:
        head = table.row()
        for index, heading in enumerate(headings):
            head.cell(heading, align="L" if index == 0 else "R")
        for line in lines:
            row = table.row()
            row.cell(line.description)
            row.cell(_quantity(line.quantity), align="R")
            row.cell(money(line.unit_price), align="R")
            row.cell(_percent(line.vat_rate), align="R")
            row.cell(money(line.amount), align="R")
    pdf.set_font(FONT, "", 10)


def totals(pdf: Document, prices: PriceTable) -> None:
    rows: list[tuple[str, str, bool]] = [(_("Subtotaal"), money(prices.subtotal), False)]
    for vat in prices.vat:
        label = _("Btw %(rate)s over %(base)s", rate=_percent(vat.rate), base=money(vat.base))
        rows.append((label, money(vat.amount), False))
    rows.append((_("Totaal"), money(prices.total), True))

    value_width, label_width = 34.0, 80.0
    x = pdf.w - pdf.r_margin - value_width - label_width
    # Keep the totals together instead of stranding "Totaal" alone on a new page.
    if pdf.will_page_break(len(rows) * 6 + 8):
        pdf.add_page()
    pdf.ln(3)
    for label, value, strong in rows:
        y = pdf.get_y()
        if strong:
            pdf.set_draw_color(*ACCENT)
            pdf.line(x + label_width / 2, y, pdf.w - pdf.r_margin, y)
            pdf.set_draw_color(*RULE)
            y += 1
        size = 10.5 if strong else 9.5
        pdf.write_text(
            label, x=x, y=y, width=label_width, size=size, bold=strong, align="R", height=6
        )
        pdf.write_text(
            value,
            x=x + label_width,
            y=y,
            width=value_width,
            size=size,
            bold=strong,
            align="R",
            height=6,
        )
    pdf.set_x(pdf.l_margin)


# --- Invoice ----------------------------------------------------------------------------------

RIGHT_COLUMN_X = 112.0
