"""Issue #15 item 18: a clerk adds a council's members from a pasted list or a CSV/XLSX file,
sees a preview with a Dutch verdict per row, and only the confirmation saves; addresses already on
the list are skipped and reported."""

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bbtraining.bookings.inhouse import bulk, participants
from bbtraining.bookings.inhouse.models import InhouseParticipant, InhouseTransition
from bbtraining.errors import DomainError
from bbtraining.extensions import db


@pytest.fixture
def booked(inhouse, make_organisation):
    utrecht = make_organisation("Gemeente Utrecht")
    clerk = inhouse.client_user(utrecht, email="griffie@utrecht.example.nl")
    booking = inhouse.scheduled(clerk)
    participants.add_participant(booking, by=clerk, name="Ed Bos", email="ed@utrecht.example.nl")
    db.session.commit()
    return booking, clerk


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(InhouseParticipant))


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(InhouseTransition))


LIST = (
    "Naam\tE-mail\n"
    "Anna de Wit\tanna@utrecht.example.nl\n"
    "Bram Jansen;bram@utrecht.example.nl;raadslid\n"
    "carla@utrecht.example.nl, Carla Smit\n"
    "\n"
    "Ed Bos\tED@utrecht.example.nl\n"
    "Dirk\tgeen-adres\n"
    "\tfemke@utrecht.example.nl\n"
    "Anna nogmaals\tanna@utrecht.example.nl\n"
)


def test_preview_judges_every_row_and_saves_nothing(booked, client, login):
    booking, clerk = booked
    before = (_count(), _events())
    login(clerk)
    url = f"/account/inhouse/{booking.id}/participants/import"
    assert client.get(url).status_code == 200
    page = client.post(url, data={"text": LIST}).get_data(as_text=True)
    assert "3 deelnemers kunnen worden toegevoegd." in page
    assert "1 staat al op de lijst en wordt overgeslagen." in page
    assert "3 regels hebben een fout en worden niet toegevoegd." in page
    assert "Vul een geldig e-mailadres in, bijvoorbeeld naam@gemeente.nl." in page
    assert "Vul de naam van de deelnemer in." in page
    assert "Dit e-mailadres staat ook op regel 2." in page
    assert "Bevestig: voeg 3 deelnemers toe" in page
    db.session.expire_all()
    assert (_count(), _events()) == before


def test_confirm_adds_the_good_rows_once_and_reports_the_skipped(booked, client, login, app):
    booking, clerk = booked
    login(clerk)
    response = client.post(
        f"/account/inhouse/{booking.id}/participants/import/confirm", data={"text": LIST}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("#deelnemers")
    page = client.get(f"/account/inhouse/{booking.id}").get_data(as_text=True)
    assert "3 deelnemers toegevoegd." in page
    assert "1 adres stond al op de lijst en is overgeslagen: ed@utrecht.example.nl." in page
    assert "3 regels met een fout zijn niet toegevoegd." in page
    db.session.expire_all()
    people = {p.email: (p.name, p.role) for p in booking.participants}
    assert people == {
        "ed@utrecht.example.nl": ("Ed Bos", None),
        "anna@utrecht.example.nl": ("Anna de Wit", None),
        "bram@utrecht.example.nl": ("Bram Jansen", "raadslid"),
        "carla@utrecht.example.nl": ("Carla Smit", None),
    }
    notes = [t.note for t in booking.transitions if t.action == "participants_changed"]
    assert notes[-1] == "3 deelnemers toegevoegd uit een lijst"
    # The same list again adds nobody and says so.
    before = (_count(), _events())
    response = client.post(
        f"/account/inhouse/{booking.id}/participants/import/confirm",
        data={"text": LIST},
        follow_redirects=True,
    )
    assert "Er staat niemand op deze lijst die nog toegevoegd kan worden." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert (_count(), _events()) == before


def test_35_council_members_from_an_excel_file(booked, client, login):
    booking, clerk = booked
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Naam", "E-mailadres", "Functie"])
    for i in range(1, 36):
        sheet.append([f"Raadslid {i}", f"raadslid{i}@utrecht.example.nl", "raadslid"])
    data = io.BytesIO()
    workbook.save(data)
    login(clerk)
    page = client.post(
        f"/account/inhouse/{booking.id}/participants/import",
        data={"text": "", "upload": (io.BytesIO(data.getvalue()), "raad.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "35 deelnemers kunnen worden toegevoegd." in page
    assert _count() == 1
    # The file's rows travel as text in the confirm form; no upload is kept.
    text = bulk.text_from_file("raad.xlsx", data.getvalue())
    client.post(f"/account/inhouse/{booking.id}/participants/import/confirm", data={"text": text})
    db.session.expire_all()
    assert len(booking.participants) == 36


def test_csv_with_semicolons_and_quotes():
    text = bulk.text_from_file(
        "leden.csv", '\ufeffnaam;email\n"Jansen; Piet";piet@example.nl\n'.encode()
    )
    assert text.splitlines()[1] == "Jansen; Piet\tpiet@example.nl"


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("leden.xls", b"abc", "Kies een CSV-bestand (.csv) of een Excelbestand (.xlsx)."),
        ("leden.xlsx", b"geen zip", "Dit bestand kunnen we niet lezen."),
        ("leden.csv", b"", "Dit bestand is leeg."),
        ("leden.csv", b"a,b\n" * 300_000, "Dit bestand is groter dan 1 MB."),
    ],
)
def test_bad_files_are_refused_in_dutch_and_nothing_changes(
    booked, client, login, filename, data, message
):
    booking, clerk = booked
    before = (_count(), _events())
    login(clerk)
    response = client.post(
        f"/account/inhouse/{booking.id}/participants/import",
        data={"text": "", "upload": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert (_count(), _events()) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Plak een lijst met per regel een naam en een e-mailadres, of kies een bestand."),
        ("x\n" * 60_000, "hooguit 100000 tekens"),
        ("".join(f"P{i}\tp{i}@example.nl\n" for i in range(600)), "Deze lijst heeft 600 regels"),
    ],
)
def test_empty_or_oversized_lists_are_refused(booked, client, login, text, message):
    booking, clerk = booked
    login(clerk)
    response = client.post(
        f"/account/inhouse/{booking.id}/participants/import", data={"text": text}
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count() == 1


def test_rows_over_the_limit_are_refused(booked, monkeypatch):
    booking, _clerk = booked
    monkeypatch.setattr(participants, "MAX_PARTICIPANTS", 3)
    preview = bulk.judge(booking, "A\ta@example.nl\nB\tb@example.nl\nC\tc@example.nl\n")
    assert [r.ok for r in preview.rows] == [True, True, False]
    assert preview.rows[2].error == "De deelnemerslijst is vol (hooguit 3 deelnemers)."


def test_other_organisation_gets_404_and_staff_403(
    booked, inhouse, client, login, make_organisation
):
    booking, _clerk = booked
    stranger = inhouse.client_user(make_organisation("Gemeente Zeist"))
    before = (_count(), _events())
    for user, status in ((stranger, 404), (inhouse.staff, 403)):
        login(user)
        base = f"/account/inhouse/{booking.id}/participants/import"
        assert client.get(base).status_code == status
        assert client.post(base, data={"text": LIST}).status_code == status
        assert client.post(base + "/confirm", data={"text": LIST}).status_code == status
        client.post("/auth/logout")
    db.session.expire_all()
    assert (_count(), _events()) == before


def test_a_list_after_delivery_is_refused(inhouse, client, login):
    booking = inhouse.delivered()
    login(booking.requested_by)
    response = client.post(
        f"/account/inhouse/{booking.id}/participants/import/confirm",
        data={"text": "A\ta@example.nl"},
        follow_redirects=True,
    )
    assert "De deelnemerslijst kan niet meer worden gewijzigd" in response.get_data(as_text=True)
    db.session.expire_all()
    assert booking.participants == []


def test_the_single_form_keeps_its_rule(booked):
    booking, clerk = booked
    with pytest.raises(DomainError, match="Vul een geldig e-mailadres in"):
        participants.add_participant(booking, by=clerk, name="X", email="x@")


def test_a_file_over_the_request_limit_gets_the_import_page(booked, client, login, app):
    booking, clerk = booked
    login(clerk)
    big = b"a,b\n" * (app.config["MAX_CONTENT_LENGTH"] // 4 + 1)
    response = client.post(
        f"/account/inhouse/{booking.id}/participants/import",
        data={"text": "", "upload": (io.BytesIO(big), "enorm.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Dit bestand is groter dan 1 MB." in page and "Plak een lijst" in page
    assert _count() == 1
