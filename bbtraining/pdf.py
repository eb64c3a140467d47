"""Render invoices, proposals, certificates and sign-in sheets as PDF bytes with fpdf2.

Pure functions on plain dataclasses: no database, no other bbtraining modules. Every string a
reader sees goes through Flask-Babel at render time, so call the render functions inside a Flask
app context (or request context) with Flask-Babel initialised; money, numbers and dates follow
the current Flask-Babel locale and timezone. Outside a request (a Celery task) the app's
default locale applies; wrap the call in ``flask_babel.force_locale(lang)`` for another one.

Money is printed, never computed here: a document carries a `PriceTable` whose amounts, VAT
and totals the caller computed (billing's rule, `bookings.billing.amounts.price_table`).

Datetimes should be timezone-aware; naive ones are taken as UTC (Flask-Babel's convention).
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
from flask_babel import format_date, format_time, get_locale, ngettext, to_user_timezone
from flask_babel import gettext as _
from fpdf import FPDF, FontFace, XPos, YPos

FONT_DIR = Path(__file__).resolve().parent / "static" / "fonts"
# Core PDF fonts only cover cp1252: they print "€" and "ë", but raise on names such as
# "Łukasz" or "Şahin", so user-supplied text needs a Unicode TrueType font.
_FONT = "dejavu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

CURRENCY = "EUR"

_MARGIN = 18.0
_LINE = 5.0
_ACCENT = (23, 74, 94)
_MUTED = (95, 95, 95)
_RULE = (190, 190, 190)
_LIGHT = (234, 240, 242)
_WARNING = (176, 32, 32)
_WATERMARK = (246, 214, 214)


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


@dataclass(frozen=True)
class CertificateDoc:
    participant_name: str
    course_title: str
    dates: tuple[date, ...]
    trainer_names: tuple[str, ...]
    code: str
    verify_url: str
    issuer: str


@dataclass(frozen=True)
class SignInSheetDoc:
    title: str
    start: datetime
    end: datetime
    location: str
    trainers: tuple[str, ...]
    participants: tuple[tuple[str, str], ...]  # (name, organisation)


# --- Locale-aware formatting ------------------------------------------------------------------


def _locale() -> Locale:
    locale = get_locale()
    if locale is None:
        raise RuntimeError("Rendering a PDF needs a Flask app context with Flask-Babel set up.")
    return locale


def _money(amount: Decimal) -> str:
    return format_currency(amount, CURRENCY, locale=_locale())


def _quantity(quantity: Decimal) -> str:
    return format_decimal(quantity, locale=_locale())


def _percent(rate: Decimal) -> str:
    # Without decimal_quantization=False a 10.5 % rate would print as "10%".
    return format_percent(Decimal(rate) / 100, locale=_locale(), decimal_quantization=False)


def _long_date(value: date) -> str:
    return format_date(value, "long")


def _join(items: Iterable[str]) -> str:
    return format_list(list(items), locale=_locale())


def _session_when(start: datetime, end: datetime) -> tuple[str, str]:
    """(date text, time text) in the user's timezone; a session may run past midnight."""
    times = f"{format_time(start, 'short')}–{format_time(end, 'short')}"
    if to_user_timezone(start).date() == to_user_timezone(end).date():
        return format_date(start, "full"), times
    return f"{format_date(start, 'full')} – {format_date(end, 'full')}", times


# --- Layout helpers ---------------------------------------------------------------------------

_RGB = tuple[int, int, int]
_BLACK: _RGB = (0, 0, 0)


class _Document(FPDF):
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
            self.add_font(_FONT, style, FONT_DIR / filename)
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
        self.set_font(_FONT, size=10)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.add_page()

    def header(self) -> None:
        if not self.watermark:
            return
        # Drawn first on every page, so the content is printed over it.
        with self.local_context(font_family=_FONT, font_style="B", font_size_pt=64):
            self.set_text_color(*_WATERMARK)
            width = self.get_string_width(self.watermark)
            center_x, center_y = self.w / 2, self.h / 2
            with self.rotation(45, center_x, center_y):
                self.text(center_x - width / 2, center_y, self.watermark)

    def footer(self) -> None:
        if self.footer_text is None:
            return
        self.set_y(-(_MARGIN - 4))
        with self.local_context(font_family=_FONT, font_style="", font_size_pt=8):
            self.set_text_color(*_MUTED)
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
        color: _RGB = _BLACK,
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
        self.set_font(_FONT, "B" if bold else "", size)
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
        self.set_font(_FONT, "", 10)
        self.set_text_color(*_BLACK)

    def heading(self, text: str, *, space_before: float = 6) -> None:
        # Never leave a heading alone at the bottom of a page.
        if self.will_page_break(space_before + 30):
            self.add_page()
        else:
            self.ln(space_before)
        self.write_text(text, size=12, bold=True, color=_ACCENT, height=6)
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
                color=_MUTED,
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
            self.write_text(label, x=x, y=y, width=label_width, size=9.5, color=_MUTED)
            label_end = self.get_y()
            self.write_text(value, x=x + label_width, y=y, width=value_width, size=9.5)
            y = max(label_end, self.get_y())
        return y

    def output_bytes(self) -> bytes:
        return bytes(self.output())


def _table_style(**overrides: object) -> dict[str, object]:
    style: dict[str, object] = {
        "borders_layout": "HORIZONTAL_LINES",
        "headings_style": FontFace(emphasis="BOLD", size_pt=9, color=_ACCENT, fill_color=_LIGHT),
        "line_height": 4.6,
        "padding": (1.6, 1.8),
        "repeat_headings": 1,
        "text_align": "LEFT",
        "v_align": "TOP",
    }
    style.update(overrides)
    return style


def _money_table(pdf: _Document, lines: Sequence[PricedLine]) -> None:
    headings = (_("Omschrijving"), _("Aantal"), _("Stukprijs"), _("Btw"), _("Bedrag"))
    pdf.set_font(_FONT, "", 9.5)
    with pdf.table(col_widths=(71, 21, 27, 16, 35), **_table_style()) as table:
        head = table.row()
        for index, heading in enumerate(headings):
            head.cell(heading, align="L" if index == 0 else "R")
        for line in lines:
            row = table.row()
            row.cell(line.description)
            row.cell(_quantity(line.quantity), align="R")
            row.cell(_money(line.unit_price), align="R")
            row.cell(_percent(line.vat_rate), align="R")
            row.cell(_money(line.amount), align="R")
    pdf.set_font(_FONT, "", 10)


def _totals(pdf: _Document, prices: PriceTable) -> None:
    rows: list[tuple[str, str, bool]] = [(_("Subtotaal"), _money(prices.subtotal), False)]
    for vat in prices.vat:
        label = _("Btw %(rate)s over %(base)s", rate=_percent(vat.rate), base=_money(vat.base))
        rows.append((label, _money(vat.amount), False))
    rows.append((_("Totaal"), _money(prices.total), True))

    value_width, label_width = 34.0, 80.0
    x = pdf.w - pdf.r_margin - value_width - label_width
    # Keep the totals together instead of stranding "Totaal" alone on a new page.
    if pdf.will_page_break(len(rows) * 6 + 8):
        pdf.add_page()
    pdf.ln(3)
    for label, value, strong in rows:
        y = pdf.get_y()
        if strong:
            pdf.set_draw_color(*_ACCENT)
            pdf.line(x + label_width / 2, y, pdf.w - pdf.r_margin, y)
            pdf.set_draw_color(*_RULE)
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


def _stamp(pdf: _Document, text: str, *, x: float, y: float) -> None:
    pdf.set_font(_FONT, "B", 11)
    pdf.set_draw_color(*_ACCENT)
    pdf.set_line_width(0.6)
    pdf.set_text_color(*_ACCENT)
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
    pdf.set_draw_color(*_RULE)
    pdf.set_text_color(*_BLACK)
    pdf.set_font(_FONT, "", 10)


# --- Invoice ----------------------------------------------------------------------------------

_RIGHT_COLUMN_X = 112.0


def render_invoice(doc: InvoiceDoc) -> bytes:
    """Invoice, or credit invoice when ``credit_for`` is set (its lines carry negative amounts)."""
    title = _("Creditfactuur") if doc.credit_for else _("Factuur")
    pdf = _Document(
        title=f"{title} {doc.number}",
        author=doc.seller.name,
        footer=f"{doc.seller.name} · {title} {doc.number}",
    )
    top = pdf.t_margin
    right_width = pdf.w - pdf.r_margin - _RIGHT_COLUMN_X

    pdf.write_text(title, y=top, width=90, size=22, bold=True, color=_ACCENT, height=10)
    if doc.paid:
        _stamp(pdf, _("Betaald").upper(), x=pdf.l_margin, y=pdf.get_y() + 2)
    left_end = pdf.get_y()
    seller_end = pdf.party(doc.seller, x=_RIGHT_COLUMN_X, y=top, width=right_width, align="R")

    y = max(left_end, seller_end) + 10
    buyer_end = pdf.party(doc.buyer, x=pdf.l_margin, y=y, width=86, label=_("Factuur aan"))
    meta = [
        (_("Factuurnummer"), doc.number),
        (_("Factuurdatum"), _long_date(doc.issue_date)),
        (_("Vervaldatum"), _long_date(doc.due_date)),
    ]
    if doc.reference:
        meta.append((_("Uw referentie"), doc.reference))
    if doc.credit_for:
        meta.append((_("Crediteert factuur"), doc.credit_for))
    meta_end = pdf.key_values(
        meta, x=_RIGHT_COLUMN_X, y=y + 4.5, label_width=36, value_width=right_width - 36
    )

    pdf.set_xy(pdf.l_margin, max(buyer_end, meta_end) + 10)
    _money_table(pdf, doc.prices.lines)
    _totals(pdf, doc.prices)

    total = doc.prices.total
    notes: list[str] = []
    if doc.paid:
        notes.append(_("Deze factuur is betaald. U hoeft niets meer te betalen."))
    else:
        if total > 0:
            notes.append(
                _(
                    "Wij verzoeken u %(amount)s vóór %(date)s te betalen.",
                    amount=_money(total),
                    date=_long_date(doc.due_date),
                )
            )
        elif total < 0:
            notes.append(
                _("Het bedrag van %(amount)s wordt aan u terugbetaald.", amount=_money(-total))
            )
        if doc.payment_note:
            notes.append(doc.payment_note)
    if notes:
        pdf.ln(8)
        for note in notes:
            pdf.write_text(note, size=9.5)
            pdf.ln(1)
    return pdf.output_bytes()


# --- Proposal ---------------------------------------------------------------------------------


def render_proposal(doc: ProposalDoc) -> bytes:
    """Proposal (offerte) for a training; a superseded version is marked on every page."""
    title = _("Offerte")
    version = _("versie %(version)s", version=doc.version)
    pdf = _Document(
        title=f"{title} {doc.reference} ({version})",
        author=doc.seller.name,
        footer=f"{doc.seller.name} · {title} {doc.reference}, {version}",
        watermark=_("Vervallen").upper() if doc.superseded else None,
    )
    top = pdf.t_margin
    right_width = pdf.w - pdf.r_margin - _RIGHT_COLUMN_X

    pdf.write_text(title, y=top, width=90, size=22, bold=True, color=_ACCENT, height=10)
    left_end = pdf.get_y()
    seller_end = pdf.party(doc.seller, x=_RIGHT_COLUMN_X, y=top, width=right_width, align="R")
    y = max(left_end, seller_end) + 6

    if doc.superseded:
        pdf.set_xy(pdf.l_margin, y)
        notice = _(
            "Deze versie van de offerte is vervangen door een nieuwere en is niet meer geldig."
        )
        # A local context, because tables pick up a leftover fill colour for every cell.
        with pdf.local_context(
            fill_color=_WATERMARK, text_color=_WARNING, font_style="B", font_size_pt=10
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
        (_("Datum"), _long_date(doc.issue_date)),
        (_("Geldig tot"), _long_date(doc.valid_until)),
    ]
    meta_end = pdf.key_values(
        meta, x=_RIGHT_COLUMN_X, y=y + 4.5, label_width=36, value_width=right_width - 36
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
    _money_table(pdf, doc.prices.lines)
    _totals(pdf, doc.prices)

    if doc.terms.strip():
        pdf.heading(_("Voorwaarden"), space_before=10)
        pdf.write_text(doc.terms.strip(), size=9, height=4.4)

    if not doc.superseded:
        _acceptance_block(pdf)
    return pdf.output_bytes()


def _sessions_table(pdf: _Document, sessions: Sequence[SessionLine]) -> None:
    pdf.set_font(_FONT, "", 9.5)
    with pdf.table(col_widths=(50, 28, 52, 40), **_table_style()) as table:
        head = table.row()
        for heading in (_("Datum"), _("Tijd"), _("Locatie"), _("Trainer")):
            head.cell(heading)
        for session in sorted(sessions, key=lambda s: s.start):
            day, times = _session_when(session.start, session.end)
            table.row((day, times, session.location, session.trainer))
    pdf.set_font(_FONT, "", 10)


def _acceptance_block(pdf: _Document) -> None:
    if pdf.will_page_break(50):
        pdf.add_page()
    pdf.heading(_("Akkoord"), space_before=10)
    pdf.write_text(
        _("Onderteken deze offerte en stuur hem terug om de boeking te bevestigen."), size=9.5
    )
    labels = (_("Naam"), _("Datum"), _("Handtekening"))
    column = pdf.epw / len(labels)
    y = pdf.get_y() + 16
    pdf.set_draw_color(*_MUTED)
    for index, label in enumerate(labels):
        x = pdf.l_margin + index * column
        pdf.line(x, y, x + column - 8, y)
        pdf.write_text(label, x=x, y=y + 1, width=column - 8, size=8.5, color=_MUTED)
    pdf.set_draw_color(*_RULE)
    pdf.set_xy(pdf.l_margin, y + 8)


# --- Certificate ------------------------------------------------------------------------------


def render_certificate(doc: CertificateDoc) -> bytes:
    """Landscape A4 certificate of participation with its verification code and URL."""
    heading = _("Certificaat van deelname")
    pdf = _Document(
        title=f"{heading} – {doc.participant_name}",
        author=doc.issuer,
        footer=None,
        orientation="landscape",
    )
    pdf.set_draw_color(*_ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_line_width(0.3)
    pdf.rect(14, 14, pdf.w - 28, pdf.h - 28)

    inner_x, inner_width = 30.0, pdf.w - 60.0

    def centered(text: str, size: float, *, bold: bool = False, color: _RGB = _BLACK) -> None:
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
    centered(doc.issuer.upper(), 10, bold=True, color=_MUTED)
    pdf.set_char_spacing(0)
    pdf.ln(9)
    centered(heading, 30, bold=True, color=_ACCENT)
    rule_y = pdf.get_y() + 3
    pdf.line(pdf.w / 2 - 30, rule_y, pdf.w / 2 + 30, rule_y)
    pdf.set_y(rule_y + 9)

    centered(_("Hierbij verklaren wij dat"), 13, color=_MUTED)
    pdf.ln(4)
    centered(doc.participant_name, _fit_size(pdf, doc.participant_name, 30, inner_width), bold=True)
    pdf.ln(4)
    centered(_("heeft deelgenomen aan de training"), 13, color=_MUTED)
    pdf.ln(4)
    centered(doc.course_title, 20, bold=True, color=_ACCENT)

    pdf.ln(5)
    if doc.dates:
        dates = _join(_long_date(day) for day in sorted(set(doc.dates)))
        centered(_("op %(dates)s", dates=dates), 11.5)
        pdf.ln(1)
    if doc.trainer_names:
        trainers = ngettext(
            "Trainer: %(names)s",
            "Trainers: %(names)s",
            len(doc.trainer_names),
            names=_join(doc.trainer_names),
        )
        centered(trainers, 11.5)

    # The signature area is pinned to the bottom; it moves down only if the text ran long.
    bottom_y = max(pdf.h - 48, pdf.get_y() + 6)
    half = inner_width / 2
    pdf.set_draw_color(*_MUTED)
    pdf.line(inner_x, bottom_y, inner_x + 75, bottom_y)
    pdf.write_text(doc.issuer, x=inner_x, y=bottom_y + 1.5, width=half, size=10, bold=True)
    pdf.write_text(_("Uitgereikt door"), x=inner_x, width=half, size=8.5, color=_MUTED)

    right_x = inner_x + half
    code = _("Verificatiecode: %(code)s", code=doc.code)
    pdf.write_text(code, x=right_x, y=bottom_y + 1.5, width=half, size=10, bold=True, align="R")
    pdf.write_text(
        _("Controleer dit certificaat op"), x=right_x, width=half, size=8.5, color=_MUTED, align="R"
    )
    pdf.write_text(
        doc.verify_url,
        x=right_x,
        width=half,
        size=8.5,
        color=_ACCENT,
        align="R",
        link=doc.verify_url,
    )
    return pdf.output_bytes()


def _fit_size(pdf: FPDF, text: str, size: float, width: float, *, minimum: float = 18) -> float:
    """Largest font size up to ``size`` at which ``text`` fits on one line; longer text wraps."""
    pdf.set_font(_FONT, "B", size)
    text_width = pdf.get_string_width(text) + 2 * pdf.c_margin
    if text_width <= width:
        return size
    return max(minimum, size * width / text_width)


# --- Sign-in sheet ----------------------------------------------------------------------------


def render_sign_in_sheet(doc: SignInSheetDoc) -> bytes:
    """Attendance list with a signature column; the table header repeats on every page."""
    heading = _("Presentielijst")
    day, times = _session_when(doc.start, doc.end)
    pdf = _Document(
        title=f"{heading} – {doc.title}",
        author=_join(doc.trainers) or doc.title,
        footer=f"{heading} · {doc.title} · {day}",
    )
    pdf.write_text(heading, size=20, bold=True, color=_ACCENT, height=9)
    pdf.write_text(doc.title, size=13, bold=True, height=6.5)
    pdf.ln(2)
    meta = [(_("Datum"), f"{day}, {times}"), (_("Locatie"), doc.location)]
    if doc.trainers:
        meta.append((ngettext("Trainer", "Trainers", len(doc.trainers)), _join(doc.trainers)))
    end = pdf.key_values(
        meta, x=pdf.l_margin, y=pdf.get_y(), label_width=28, value_width=pdf.epw - 28
    )
    pdf.set_xy(pdf.l_margin, end + 6)

    pdf.set_font(_FONT, "", 10)
    style = _table_style(borders_layout="ALL", v_align="MIDDLE", line_height=5)
    with pdf.table(col_widths=(9, 58, 52, 55), min_row_height=11, **style) as table:
        head = table.row()
        for heading_text in ("#", _("Naam"), _("Organisatie"), _("Handtekening")):
            head.cell(heading_text)
        for number, (name, organisation) in enumerate(doc.participants, start=1):
            table.row((str(number), name, organisation, ""))
    return pdf.output_bytes()
