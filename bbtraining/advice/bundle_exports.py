"""What a strippenkaart gives away as files: the statement (PDF, with the layout helpers every
document shares), the entries (CSV/XLSX through bbtraining/exports.py, formula-safe), and staff's
hours per advisor per month (CSV)."""

from decimal import Decimal

from flask import current_app
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from .. import exports
from ..pdf.layout import ACCENT, FONT, MUTED, Document, long_date, money, table_style
from .bundle_models import AdviceBundle
from .bundles import AdvisorMonth, hours_text


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"))


def entry_headers() -> list[str]:
    return [_("Datum"), _("Uren"), _("Minuten"), _("Onderwerp"), _("Adviseur"), _("Notitie")]


def entry_rows(bundle: AdviceBundle) -> list[list[object]]:
    return [
        [
            entry.day,
            _hours(entry.minutes),
            entry.minutes,
            entry.topic,
            entry.advisor.name if entry.advisor else "",
            entry.note,
        ]
        for entry in bundle.entries
    ]


def entries_filename(bundle: AdviceBundle, extension: str) -> str:
    return f"strippenkaart-{bundle.id}-{bundle.valid_from:%Y-%m-%d}.{extension}"


def entries_csv(bundle: AdviceBundle) -> bytes:
    return exports.csv_bytes(entry_headers(), entry_rows(bundle))


def entries_xlsx(bundle: AdviceBundle) -> bytes:
    return exports.xlsx_bytes(
        entry_headers(),
        entry_rows(bundle),
        _("Strippenkaart %(organisation)s", organisation=bundle.organisation.name),
    )


def advisor_months_csv(rows: list[AdvisorMonth]) -> bytes:
    return exports.csv_bytes(
        [_("Adviseur"), _("Jaar"), _("Maand"), _("Uren"), _("Minuten"), _("Regels")],
        [[r.advisor, r.year, r.month, _hours(r.minutes), r.minutes, r.entries] for r in rows],
    )


def statement_pdf(bundle: AdviceBundle, *, on) -> bytes:
    """The statement a client downloads: what was bought, every entry, what is left."""
    organisation = current_app.config["ORGANISATION_NAME"]
    title = _("Overzicht advies-strippenkaart")
    pdf = Document(
        title=f"{title} – {bundle.organisation.name}",
        author=organisation,
        footer=f"{title} · {bundle.organisation.name} · {format_date(on, 'short')}",
    )
    pdf.write_text(title, size=20, bold=True, color=ACCENT, height=9)
    pdf.write_text(bundle.organisation.name, size=13, bold=True, height=6.5)
    pdf.ln(2)
    rows = [
        (_("Gekocht"), hours_text(bundle.minutes_bought)),
        (_("Geldig"), f"{long_date(bundle.valid_from)} – {long_date(bundle.valid_until)}"),
        (_("Gebruikt"), hours_text(bundle.minutes_used)),
        (_("Over"), hours_text(max(bundle.balance_minutes, 0))),
    ]
    if bundle.overrun_minutes:
        rows.append((_("Meer dan gekocht"), hours_text(bundle.overrun_minutes)))
    if bundle.invoice:
        rows.append((_("Factuur"), f"{bundle.invoice.number} · {money(bundle.invoice.total)}"))
    rows.append((_("Stand op"), long_date(on)))
    end = pdf.key_values(
        rows, x=pdf.l_margin, y=pdf.get_y(), label_width=38, value_width=pdf.epw - 38
    )
    pdf.set_xy(pdf.l_margin, end + 6)
    pdf.heading(_("Geboekte tijd"))
    if not bundle.entries:
        pdf.write_text(_("Er is nog geen tijd geboekt."), color=MUTED)
        return pdf.output_bytes()
    pdf.set_font(FONT, "", 9.5)
    with pdf.table(col_widths=(24, 16, 90, 40), **table_style()) as table:
        head = table.row()
        for index, heading in enumerate((_("Datum"), _("Uren"), _("Onderwerp"), _("Adviseur"))):
            head.cell(heading, align="R" if index == 1 else "L")
        for entry in bundle.entries:
            row = table.row()
            row.cell(format_date(entry.day, "short"))
            row.cell(format_decimal(_hours(entry.minutes), format="#,##0.##"), align="R")
            topic = entry.topic + (f"\n{entry.note}" if entry.note else "")
            row.cell(topic)
            row.cell(entry.advisor.name if entry.advisor else "")
    pdf.set_font(FONT, "", 10)
    pdf.ln(3)
    pdf.write_text(
        _(
            "Totaal gebruikt: %(used)s van %(bought)s.",
            used=hours_text(bundle.minutes_used),
            bought=hours_text(bundle.minutes_bought),
        ),
        bold=True,
    )
    return pdf.output_bytes()
