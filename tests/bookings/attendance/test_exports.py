"""Exports: CSV and XLSX per session and per edition, a printable sign-in sheet."""

import csv
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from bbtraining.bookings.attendance import completion, marking
from bbtraining.extensions import db
from tests.bookings.attendance import support

# The attendance fixtures (support.py), bound here so pytest finds them.
roster, make_run, make_lone_session = support.roster, support.make_run, support.make_lone_session
trainer, staff = support.trainer, support.staff


@pytest.fixture
def marked(make_run, make_user, make_organisation, roster, trainer):
    edition = make_run(trainer=trainer, starts=(-24 * 60 - 30, -30), minutes=180)
    first, second = edition.sessions
    org = make_organisation("Gemeente Utrecht")
    eva = make_user("facilitator", name="Eva de Boer", email="eva@example.nl", organisation=org)
    jan = make_user("facilitator", name="Jan Jansen", email="jan@example.nl")
    sly = make_user("facilitator", name='=HYPERLINK("x")', email="sly@example.nl")
    keys = [roster.enroll(u).key for u in (eva, jan, sly)]
    for session in (first, second):
        at = session.starts_at
        marking.mark(session, keys[0], "present", by=trainer, now=at)
        marking.mark(
            session, keys[1], "excused" if session is first else "absent", by=trainer, now=at
        )
    marking.set_details(second, keys[1], arrival=None, note="Ziek gemeld", by=trainer)
    db.session.commit()
    return edition, keys


def _csv(response):
    assert response.data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))


def test_session_csv(marked, trainer, client, login):
    edition, _keys = marked
    second = edition.sessions[1]
    login(trainer)
    response = client.get(f"/attendance/sessions/{second.id}/attendance.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and ".csv" in disposition
    rows = _csv(response)
    assert rows[0] == [
        "Naam",
        "E-mailadres",
        "Organisatie of functie",
        "Status",
        "Aankomst",
        "Genoteerd door",
        "Bevestigd",
        "Notitie",
    ]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Eva de Boer"][1:5] == [
        "eva@example.nl",
        "Gemeente Utrecht",
        "Aanwezig",
        by_name["Eva de Boer"][4],
    ]
    assert by_name["Eva de Boer"][4]  # an arrival time: ticked during the session
    assert by_name["Jan Jansen"][3] == "Afwezig" and by_name["Jan Jansen"][7] == "Ziek gemeld"
    # A name that a spreadsheet would run as a formula is written as text.
    assert '\'=HYPERLINK("x")' in by_name
    assert by_name['\'=HYPERLINK("x")'][3] == "Niet genoteerd"


def test_session_xlsx(marked, trainer, client, login):
    edition, _keys = marked
    login(trainer)
    response = client.get(f"/attendance/sessions/{edition.sessions[1].id}/attendance.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:4] == ["Naam", "E-mailadres", "Organisatie of functie", "Status"]
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    names = {row[0]: row for row in rows[1:]}
    assert names["Eva de Boer"][3] == "Aanwezig"
    assert names["Jan Jansen"][3] == "Afwezig"
    assert '\'=HYPERLINK("x")' in names  # text, not a formula
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_edition_exports_have_a_column_per_session_and_the_completion(
    marked, trainer, client, login
):
    edition, _keys = marked
    first, second = edition.sessions
    second.cancel("Afgelast")  # a cancelled session is shown but does not count
    db.session.commit()
    completion.run_due_completions()
    db.session.commit()
    login(trainer)
    rows = _csv(client.get(f"/attendance/editions/{edition.id}/attendance.csv"))
    header = rows[0]
    assert header[:2] == ["Naam", "E-mailadres"]
    assert header[2].startswith(first.local_start.strftime("%d-%m-%Y"))
    assert header[3].endswith("(geannuleerd)")
    assert header[4:] == ["Aanwezig", "Afronding", "Toelichting"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Eva de Boer"][2:6] == ["Aanwezig", "", "1/1", "Afgerond"]
    assert by_name["Jan Jansen"][2] == "Afgemeld"
    assert by_name["Jan Jansen"][5] == "Niet afgerond"
    assert "afgemeld telt als afwezig" in by_name["Jan Jansen"][6]
    workbook = load_workbook(
        io.BytesIO(client.get(f"/attendance/editions/{edition.id}/attendance.xlsx").data)
    )
    xlsx_rows = list(workbook.active.iter_rows(values_only=True))
    assert [c or "" for c in xlsx_rows[0]] == header
    assert len(xlsx_rows) == len(rows)


def test_edition_export_before_the_decision(marked, trainer, client, login):
    edition, _keys = marked
    login(trainer)
    rows = _csv(client.get(f"/attendance/editions/{edition.id}/attendance.csv"))
    assert {row[-2] for row in rows[1:]} == {"Nog niet bepaald"}


def test_sign_in_sheet_pdf(marked, trainer, client, login):
    edition, _keys = marked
    session = edition.sessions[1]
    login(trainer)
    response = client.get(f"/attendance/sessions/{session.id}/sign-in-sheet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "tekenlijst-" in response.headers["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    for expected in (session.course.title, "Eva de Boer", "Jan Jansen", "Gemeente Utrecht"):
        assert expected in text
    assert "Tessa Trainer" in text and "Utrecht, Stadhuis" in text


def test_sign_in_sheet_for_a_long_list_spans_pages(
    make_run, make_user, roster, trainer, client, login
):
    session = make_run(trainer=trainer).sessions[0]
    for n in range(40):
        roster.enroll(make_user("facilitator", name=f"Deelnemer {n:02d}"))
    login(trainer)
    reader = PdfReader(
        io.BytesIO(client.get(f"/attendance/sessions/{session.id}/sign-in-sheet.pdf").data)
    )
    assert len(reader.pages) >= 2
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Deelnemer 00" in text and "Deelnemer 39" in text
