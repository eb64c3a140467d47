"""The strippenkaart's pages: the client's balance and entries (and nobody else's), staff selling,
advisors logging, overrun and corrections over HTTP, and the downloads."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from bbtraining.advice import bundles
from bbtraining.advice.bundle_models import AdviceBundle, AdviceBundleEntry
from bbtraining.extensions import db
from tests.advice.bundle_kit import BundleKit, counts


@pytest.fixture
def kit(make_user, make_organisation):
    return BundleKit(make_user, make_organisation)


def _text(response) -> str:
    return response.get_data(as_text=True)


# -- the client -------------------------------------------------------------------------------
def test_a_client_sees_the_balance_and_every_entry(kit, client, login):
    bundle = kit.bundle(hours=10)
    kit.log(bundle, 90, topic="Opzet van de loting")
    kit.log(bundle, 45, topic="Vragenlijst", advisor=kit.advisor2)
    login(kit.client)
    page = _text(client.get(f"/advies/strippenkaarten/{bundle.id}"))
    assert "Advies-strippenkaart" in page and "Gemeente Zeist" in page
    assert "7,75 uur" in page  # what is left of ten hours
    assert "Opzet van de loting" in page and "Vragenlijst" in page and "Bram Berg" in page
    dashboard = _text(client.get("/account/"))
    assert "7,75 uur over van 10 uur" in dashboard
    assert f"/advies/strippenkaarten/{bundle.id}" in dashboard


def test_another_organisations_bundle_is_a_404_everywhere(kit, client, login):
    bundle = kit.bundle()
    kit.log(bundle, 60, topic="Geheim advies")
    login(kit.other_client)
    for url in (
        f"/advies/strippenkaarten/{bundle.id}",
        f"/advies/strippenkaarten/{bundle.id}/overzicht.pdf",
        f"/advies/strippenkaarten/{bundle.id}/regels.csv",
        f"/advies/strippenkaarten/{bundle.id}/regels.xlsx",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Geheim advies" not in _text(response)
    assert "Advies-strippenkaart" not in _text(client.get("/account/"))
    for url in ("/admin/advies/strippenkaarten", f"/admin/advies/strippenkaarten/{bundle.id}"):
        assert client.get(url).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login(kit, client):
    bundle = kit.bundle()
    response = client.get(f"/advies/strippenkaarten/{bundle.id}")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_the_downloads_hold_every_entry_and_no_formula(kit, client, login):
    bundle = kit.bundle(hours=10)
    kit.log(bundle, 60, topic='=HYPERLINK("http://evil.example","klik")')
    kit.log(bundle, 30, topic="Tweede gesprek")
    login(kit.client)
    response = client.get(f"/advies/strippenkaarten/{bundle.id}/regels.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Datum", "Uren", "Minuten", "Onderwerp"]
    assert rows[1][3] == '\'=HYPERLINK("http://evil.example","klik")'
    assert rows[2][2] == "30" and rows[2][3] == "Tweede gesprek"
    sheet = load_workbook(
        io.BytesIO(client.get(f"/advies/strippenkaarten/{bundle.id}/regels.xlsx").data)
    ).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][3].startswith("'=") and values[2][2] == 30
    pdf = client.get(f"/advies/strippenkaarten/{bundle.id}/overzicht.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "Overzicht advies-strippenkaart" in text and "Gemeente Zeist" in text
    assert "Tweede gesprek" in text and "Anna Adviseur" in text
    assert "Totaal gebruikt: 1,5 uur van 10 uur." in text


# -- staff sell -------------------------------------------------------------------------------
def test_staff_sell_a_bundle_through_the_form(kit, client, login):
    login(kit.admin)
    page = client.get("/admin/advies/strippenkaarten/nieuw")
    assert page.status_code == 200 and "Gemeente Zeist" in _text(page)
    response = client.post(
        "/admin/advies/strippenkaarten/nieuw",
        data={
            "organisation": kit.org.id,
            "hours": "20",
            "price": "2.800,00",
            "valid_from": bundles.today().isoformat(),
            "reference": "PO-77",
        },
    )
    assert response.status_code == 302, _text(response)[:2000]
    bundle = db.session.scalars(select(AdviceBundle)).one()
    assert bundle.minutes_bought == 1200 and bundle.reference == "PO-77"
    assert str(bundle.price) == "2800.00" and bundle.invoice.reference == "PO-77"
    assert response.location.endswith(f"/admin/advies/strippenkaarten/{bundle.id}")
    listing = _text(client.get("/admin/advies/strippenkaarten"))
    assert "Gemeente Zeist" in listing and bundle.invoice.number in listing


@pytest.mark.parametrize(
    ("hours", "price", "message"),
    [
        ("tien", "100", "Vul een bedrag of getal in"),
        ("1,1", "100", "in kwartieren"),
        ("1.1", "100", "in kwartieren"),
        ("0", "100", "meer dan nul"),
        ("10", "abc", "Vul een bedrag of getal in"),
        ("10", "", "Vul de prijs van de strippenkaart in"),
        ("10", "-1", "niet negatief"),
    ],
)
def test_selling_with_bad_input_shows_why_and_creates_nothing(
    kit, client, login, hours, price, message
):
    login(kit.admin)
    before = counts()
    response = client.post(
        "/admin/advies/strippenkaarten/nieuw",
        data={
            "organisation": kit.org.id,
            "hours": hours,
            "price": price,
            "valid_from": bundles.today().isoformat(),
        },
    )
    assert response.status_code == 422 and message in _text(response)
    assert counts() == before


def test_advisors_and_clients_may_not_sell_or_allow_overruns(kit, client, login):
    bundle = kit.bundle()
    for person in (kit.advisor, kit.client):
        login(person)
        assert client.get("/admin/advies/strippenkaarten/nieuw").status_code == 403
        before = counts()
        for action in ("overschrijding/toestaan", "overschrijding/factureren", "sluiten"):
            url = f"/admin/advies/strippenkaarten/{bundle.id}/{action}"
            assert client.post(url).status_code == 403
        assert counts() == before
        client.post("/auth/logout")


# -- advisors log -----------------------------------------------------------------------------
def _log(client, bundle, **fields):
    data = {
        "day": bundles.today().isoformat(),
        "minutes": "60",
        "topic": "Werving van deelnemers",
        **fields,
    }
    return client.post(f"/admin/advies/strippenkaarten/{bundle.id}/tijd", data=data)


def test_an_advisor_logs_their_own_time(kit, client, login):
    bundle = kit.bundle(hours=2)
    login(kit.advisor)
    assert 'href="/admin/advies/strippenkaarten"' in _text(client.get("/account/"))  # the menu
    listing = _text(client.get("/admin/advies/strippenkaarten"))
    assert "Gemeente Zeist" in listing and "Strippenkaart verkopen" not in listing
    page = _text(client.get(f"/admin/advies/strippenkaarten/{bundle.id}"))
    assert "Tijd boeken" in page and "Overschrijding toestaan" not in page
    # Whoever an advisor names, the time is theirs.
    response = _log(client, bundle, advisor=str(kit.advisor2.id))
    assert response.status_code == 302
    entry = db.session.scalars(select(AdviceBundleEntry)).one()
    assert entry.advisor_id == kit.advisor.id and entry.minutes == 60
    assert "De tijd is geboekt" in _text(client.get(response.location))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"minutes": "20"}, "per kwartier"),
        ({"minutes": "0"}, "minstens een kwartier"),
        ({"minutes": ""}, "minstens een kwartier"),
        ({"minutes": "180"}, "Er staat nog 2 uur op de strippenkaart"),
        ({"topic": ""}, "Vul het onderwerp van het advies in"),
        ({"day": ""}, "Vul de datum van het advies in"),
        ({"day": "gisteren"}, "Vul een geldige datum in"),
        ({"minutes": "een uur"}, "Vul de duur in hele minuten in"),
    ],
)
def test_logging_bad_time_shows_why_and_changes_nothing(kit, client, login, fields, message):
    bundle = kit.bundle(hours=2)
    login(kit.advisor)
    before = counts()
    response = _log(client, bundle, **fields)
    assert response.status_code == 422 and message in _text(response)
    assert counts() == before


def test_an_expired_bundle_refuses_time_over_http(kit, client, login):
    bundle = kit.bundle(valid_from=bundles.today() - timedelta(days=400))
    login(kit.admin)
    page = _text(client.get(f"/admin/advies/strippenkaarten/{bundle.id}"))
    assert "Verlopen" in page and 'action="/admin/advies/strippenkaarten/1/tijd"' not in page
    before = counts()
    response = _log(client, bundle, day=bundle.valid_until.isoformat(), advisor=str(kit.advisor.id))
    assert response.status_code == 422 and "verlopen op" in _text(response)
    assert counts() == before


# -- staff: overrun, correction, close, hours per advisor -------------------------------------
def test_staff_allow_and_invoice_an_overrun_and_correct_an_entry(kit, client, login):
    bundle = kit.bundle(hours=1, price="150")
    login(kit.admin)
    assert _log(client, bundle, advisor=str(kit.advisor.id)).status_code == 302
    assert (
        client.post(
            f"/admin/advies/strippenkaarten/{bundle.id}/overschrijding/toestaan"
        ).status_code
        == 302
    )
    assert _log(client, bundle, minutes="30", advisor=str(kit.advisor.id)).status_code == 302
    response = client.post(f"/admin/advies/strippenkaarten/{bundle.id}/overschrijding/factureren")
    assert response.status_code == 302
    assert "De overschrijding is gefactureerd" in _text(client.get(response.location))
    db.session.expire_all()
    bundle = db.session.get(AdviceBundle, bundle.id)
    assert bundle.minutes_overrun_invoiced == 30 and len(bundles.overrun_invoices(bundle)) == 1
    first = bundle.entries[0]
    # The invoiced overrun stands: taking time off the ledger now needs a credit invoice.
    before = counts()
    response = client.post(
        f"/admin/advies/strippenkaarten/{bundle.id}/regels/{first.id}/correctie",
        data={"reason": "Verkeerde organisatie"},
        follow_redirects=True,
    )
    assert "corrigeer die met een creditfactuur" in _text(response)
    assert counts() == before


def test_staff_correct_an_entry_once(kit, client, login):
    bundle = kit.bundle(hours=2)
    first = kit.log(bundle, 60)
    login(kit.admin)
    response = client.post(
        f"/admin/advies/strippenkaarten/{bundle.id}/regels/{first.id}/correctie",
        data={"reason": "Verkeerde organisatie"},
        follow_redirects=True,
    )
    assert "De regel is gecorrigeerd" in _text(response)
    assert "Correctie: Opzet van de loting" in _text(response)
    db.session.expire_all()
    assert db.session.get(AdviceBundle, bundle.id).minutes_used == 0
    before = counts()
    response = client.post(
        f"/admin/advies/strippenkaarten/{bundle.id}/regels/{first.id}/correctie",
        data={"reason": "nog eens"},
        follow_redirects=True,
    )
    assert "Deze regel is al gecorrigeerd" in _text(response)
    assert counts() == before
    response = client.post(
        f"/admin/advies/strippenkaarten/{bundle.id}/regels/{first.id}/correctie",
        data={"reason": ""},
        follow_redirects=True,
    )
    assert "Geef de reden van de correctie op" in _text(response)
    assert counts() == before


def test_an_advisor_corrects_only_their_own_entries(kit, client, login):
    bundle = kit.bundle()
    mine = kit.log(bundle, 60)
    theirs = kit.log(bundle, 30, advisor=kit.advisor2)
    login(kit.advisor)
    url = f"/admin/advies/strippenkaarten/{bundle.id}/regels/{{}}/correctie"
    assert client.post(url.format(theirs.id), data={"reason": "x"}).status_code == 403
    assert client.post(url.format(mine.id), data={"reason": "dubbel"}).status_code == 302
    other = kit.bundle(org=kit.other_org)
    wrong = f"/admin/advies/strippenkaarten/{other.id}/regels/{mine.id}/correctie"
    assert client.post(wrong, data={"reason": "x"}).status_code == 404


def test_closing_stops_logging(kit, client, login):
    bundle = kit.bundle()
    login(kit.admin)
    assert client.post(f"/admin/advies/strippenkaarten/{bundle.id}/sluiten").status_code == 302
    before = counts()
    response = _log(client, bundle, advisor=str(kit.advisor.id))
    assert response.status_code == 422 and "gesloten" in _text(response)
    assert counts() == before


def test_hours_per_advisor_per_month_csv(kit, client, login):
    bundle = kit.bundle()
    kit.log(bundle, 90)
    kit.log(bundle, 45, advisor=kit.advisor2)
    login(kit.admin)
    year = bundles.today().year
    response = client.get(f"/admin/advies/uren-per-adviseur.csv?year={year}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Adviseur", "Jaar", "Maand", "Uren", "Minuten", "Regels"]
    assert ["Anna Adviseur", str(year), str(bundles.today().month), "1.50", "90", "1"] in rows
    assert ["Bram Berg", str(year), str(bundles.today().month), "0.75", "45", "1"] in rows
    client.post("/auth/logout")
    login(kit.advisor)
    assert client.get("/admin/advies/uren-per-adviseur.csv").status_code == 403
