"""Many participants at once: a pasted list, or a CSV or Excel file, becomes rows; every row is
judged by the rule for a single participant (`participants.check_new_participant`), and nothing is
saved until the client confirms the preview. Addresses already on the list are skipped and named.

A file is read once, into the same text a paste gives (one person per line, tab-separated): the
preview carries that text in its confirm form, so the confirmation judges exactly what was shown
and no upload is kept anywhere in between.
"""

import csv
import io
import zipfile
from dataclasses import dataclass

from flask_babel import gettext as _
from openpyxl import load_workbook

from ...auth.models import User
from ...errors import DomainError
from ...i18n import lazy_gettext as _l
from .models import InhouseBooking
from .participants import (
    MAX_PARTICIPANTS,
    AlreadyListed,
    add_participants,
    check_new_participant,
    check_participants_editable,
)

MAX_FILE_BYTES = 1024 * 1024
# More lines than can ever fit on a list are refused before judging them one by one.
MAX_LINES = MAX_PARTICIPANTS + 50
MAX_TEXT_CHARS = 100_000
HEADER_WORDS = {"naam", "name", "e-mail", "email", "e-mailadres", "emailadres", "mail"}


@dataclass(frozen=True)
class Row:
    """One line of the list: who, and what becomes of it."""

    line: int
    name: str
    email: str
    role: str | None = None
    error: str | None = None  # refused: why
    skipped: str | None = None  # already on the list

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None


@dataclass(frozen=True)
class Preview:
    text: str
    rows: list[Row]

    @property
    def ok_rows(self) -> list[Row]:
        return [r for r in self.rows if r.ok]

    @property
    def errors(self) -> list[Row]:
        return [r for r in self.rows if r.error]

    @property
    def skipped(self) -> list[Row]:
        return [r for r in self.rows if r.skipped]


def _cells(line: str) -> list[str]:
    # A tab comes from a spreadsheet; a semicolon from Dutch Excel's CSV; a comma otherwise. The
    # first that occurs wins, so "Jansen, Piet<TAB>piet@..." keeps its comma in the name.
    for separator in ("\t", ";", ","):
        if separator in line:
            return [c.strip().strip('"').strip() for c in line.split(separator)]
    return [line.strip()]


def _is_header(cells: list[str]) -> bool:
    return any(c.lower() in HEADER_WORDS for c in cells) and not any("@" in c for c in cells)


def _person(cells: list[str]) -> tuple[str, str, str | None]:
    cells = [*cells, "", ""]
    name, email, role = cells[0], cells[1], cells[2] or None
    if "@" in name and "@" not in email:  # e-mail first, name second
        name, email = email, name
    return name, email, role


def text_lines(text: str) -> list[tuple[int, list[str]]]:
    """The non-empty lines of a pasted list with their line numbers, split into cells."""
    lines = []
    for number, line in enumerate((text or "").replace("\x00", "").splitlines(), start=1):
        if line.strip():
            lines.append((number, _cells(line)))
    if lines and _is_header(lines[0][1]):
        lines = lines[1:]
    return lines


def judge(booking: InhouseBooking, text: str) -> Preview:
    """Each line of the list judged as a single participant would be; nothing is written."""
    text = text or ""
    if not text.strip():
        raise DomainError(
            _l("Plak een lijst met per regel een naam en een e-mailadres, of kies een bestand."),
            field="text",
        )
    if len(text) > MAX_TEXT_CHARS:
        raise DomainError(
            _l("Deze lijst is te lang: hooguit %(max)d tekens.", max=MAX_TEXT_CHARS), field="text"
        )
    lines = text_lines(text)
    if len(lines) > MAX_LINES:
        raise DomainError(
            _l(
                "Deze lijst heeft %(count)d regels; er passen hooguit %(max)d deelnemers op een "
                "aanvraag.",
                count=len(lines),
                max=MAX_PARTICIPANTS,
            ),
            field="text",
        )
    rows: list[Row] = []
    first_line_of: dict[str, int] = {}
    planned = 0
    for number, cells in lines:
        name, email, role = _person(cells)
        try:
            name, email, role = check_new_participant(
                booking, name, email, role=role, planned=planned
            )
        except AlreadyListed:
            rows.append(Row(number, name, email.lower(), role, skipped=_("Staat al op de lijst")))
            continue
        except DomainError as exc:
            rows.append(Row(number, name, email, role, error=str(exc)))
            continue
        if email in first_line_of:
            message = _("Dit e-mailadres staat ook op regel %(line)d.", line=first_line_of[email])
            rows.append(Row(number, name, email, role, error=message))
            continue
        first_line_of[email] = number
        planned += 1
        rows.append(Row(number, name, email, role))
    return Preview(text=text, rows=rows)


def confirm(booking: InhouseBooking, text: str, *, by: User) -> Preview:
    """Add the good rows of the list as it stands now; returns the judgement it acted on."""
    check_participants_editable(booking, by)
    preview = judge(booking, text)
    if not preview.ok_rows:
        raise DomainError(_l("Er staat niemand op deze lijst die nog toegevoegd kan worden."))
    add_participants(booking, [(r.name, r.email, r.role) for r in preview.ok_rows], by=by)
    return preview


def text_from_file(filename: str, data: bytes) -> str:
    """A CSV or Excel file as the text of a paste: one person per line, cells tab-separated."""
    if not data:
        raise DomainError(_l("Dit bestand is leeg."), field="upload")
    if len(data) > MAX_FILE_BYTES:
        raise DomainError(_l("Dit bestand is groter dan 1 MB."), field="upload")
    suffix = (filename or "").rsplit(".", 1)[-1].lower()
    if suffix == "xlsx":
        rows = _xlsx_rows(data)
    elif suffix in ("csv", "txt"):
        rows = _csv_rows(data)
    else:
        raise DomainError(
            _l("Kies een CSV-bestand (.csv) of een Excelbestand (.xlsx)."), field="upload"
        )
    return "\n".join("\t".join(c.replace("\t", " ") for c in row) for row in rows)


def _unreadable() -> DomainError:
    return DomainError(
        _l("Dit bestand kunnen we niet lezen. Sla het op als CSV of als Excelbestand (.xlsx)."),
        field="upload",
    )


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # an older Excel's CSV
    sample = text[:4096]
    delimiter = next((d for d in ("\t", ";", ",") if d in sample), ",")
    reader = csv.reader(io.StringIO(text.replace("\x00", "")), delimiter=delimiter)
    try:
        return [row for row, _n in zip(reader, range(MAX_LINES + 2), strict=False)]
    except csv.Error as exc:
        raise _unreadable() from exc


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _unreadable() from exc
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for values in sheet.iter_rows(max_row=MAX_LINES + 2, max_col=3, values_only=True):
            rows.append(["" if v is None else str(v).strip() for v in values])
        return rows
    finally:
        workbook.close()
