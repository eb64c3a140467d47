"""Issue 15, items 14 and 19: sheet names, the favicon, date hints that lie ahead, and a new
facilitator's first overview."""

import io
import re
from datetime import date, datetime, timedelta

from openpyxl import load_workbook

from bbtraining.alumni.forms import example_days
from bbtraining.exports import SHEET_TITLE_MAX, sheet_title, xlsx_bytes


# -- XLSX sheet names ---------------------------------------------------------------------------
def test_a_long_sheet_name_is_cut_after_a_whole_word():
    title = "Deelnemers Basistraining gespreksbegeleider burgerberaad"
    assert sheet_title(title) == "Deelnemers Basistraining"
    assert sheet_title("Kort") == "Kort"
    assert sheet_title("Lijst: [a] / b") == "Lijst a b"
    # One word longer than Excel allows has nowhere else to be cut.
    assert sheet_title("X" * 40) == "X" * SHEET_TITLE_MAX
    assert sheet_title("   ") == "Export"
    workbook = load_workbook(io.BytesIO(xlsx_bytes(["a"], [["b"]], title)))
    assert workbook.sheetnames == ["Deelnemers Basistraining"]


def test_every_cut_is_a_word_of_the_title():
    title = "Aanwezigheid Masterclass burgerberaden voor ambtenaren en politici"
    cut = sheet_title(title)
    assert len(cut) <= SHEET_TITLE_MAX and title.startswith(cut)
    assert title[len(cut)] == " "


# -- favicon ------------------------------------------------------------------------------------
def test_favicon_is_served_and_linked(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = client.get("/courses/").get_data(as_text=True)
    assert 'rel="icon" href="/static/img/favicon.svg"' in page
    assert client.get("/static/img/favicon.svg").status_code == 200


# -- date hints ---------------------------------------------------------------------------------
def _days(text: str) -> list[date]:
    return [datetime.strptime(d, "%d-%m-%Y").date() for d in re.findall(r"\d\d-\d\d-\d{4}", text)]


def test_example_dates_lie_ahead_of_any_day():
    for today in (date(2026, 12, 5), date(2027, 2, 28), date(2030, 12, 31)):
        text = example_days(3, with_range=True, today=today)
        days = _days(text)
        assert len(days) == 5 and " t/m " in text
        assert all(d > today + timedelta(days=30) for d in days)


def test_search_and_profile_hints_show_future_dates(
    client, login, make_user, make_organisation, make_course
):
    from bbtraining.bookings.attendance.qualifications import record_qualification

    client_user = make_user("client", organisation=make_organisation())
    login(client_user)
    page = client.get("/alumni/").get_data(as_text=True)
    hint = re.search(r'id="dates-hint">([^<]*)<', page).group(1)
    assert hint.startswith("Bijvoorbeeld: ")
    assert _days(hint) and all(d > date.today() for d in _days(hint))
    # A wrong date says how to write one, with a date that is still to come.
    page = client.get("/alumni/?dates=31-02-2027").get_data(as_text=True)
    assert "31-02-2027 is geen datum" in page
    example = re.search(r"Schrijf data als (\d\d-\d\d-\d{4})", page).group(1)
    assert _days(example)[0] > date.today()

    client.post("/auth/logout")
    alumnus = make_user("facilitator")
    record_qualification(alumnus, make_course(qualifies_for_alumni=True), source="admin")
    from bbtraining.extensions import db

    db.session.commit()
    login(alumnus)
    page = client.get("/alumni/profile").get_data(as_text=True)
    hint = re.search(r'id="blocked_dates-hint">([^<]*)<', page).group(1)
    assert _days(hint) and all(d > date.today() for d in _days(hint))
