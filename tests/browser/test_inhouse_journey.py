"""Journey 1 in Chromium: a council clerk requests an inspiratiesessie with preferred dates,
staff write a draft proposal, preview and edit it, send it after confirming, and the clerk
accepts it online with their PO number."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from bbtraining.bookings.inhouse.models import InhouseBooking, today_amsterdam
from bbtraining.courses.models import Course
from bbtraining.extensions import db
from tests.bookings.inhouse.conftest import InhouseKit
from tests.browser.conftest import browser_login
from tests.conftest import PASSWORD, outbox_to

pytestmark = pytest.mark.browser


@pytest.fixture
def inspiratiesessie():
    course = Course(
        slug="inspiratiesessie",
        title="Inspiratiesessie burgerberaad",
        kind="inspiratiesessie",
        audience="council",
        delivery="inhouse",
        summary="Wat een burgerberaad vraagt van raad en college.",
        duration_minutes=120,
        price_inhouse=Decimal("1450.00"),
        published=True,
    )
    course.phases = ["verkenning"]
    db.session.add(course)
    db.session.commit()
    return course


def test_clerk_requests_and_accepts_a_proposal(
    page, browser, live_server, make_user, inspiratiesessie
):
    staff = make_user("admin", email="beheer@example.nl", name="Sanne de Vries")
    make_user("trainer", email="trainer@example.nl", name="Joost Bakker")
    first_choice = today_amsterdam() + timedelta(days=30)
    second_choice = first_choice + timedelta(days=7)

    # -- the clerk asks, creating their account on the way ---------------------------------
    page.goto(f"{live_server.url}/courses/inspiratiesessie/request")
    page.get_by_label("Naam van uw organisatie").fill("Gemeente Utrecht")
    page.get_by_label("Naam contactpersoon").fill("Pieter van Dijk")
    page.get_by_label("E-mailadres contactpersoon").fill("griffie@utrecht.example.nl")
    page.get_by_label("Kies een wachtwoord").fill(PASSWORD)
    page.get_by_label("Herhaal wachtwoord").fill(PASSWORD)
    page.get_by_label("Verwacht aantal deelnemers").fill("35")
    page.get_by_label("Op onze eigen locatie").check()
    page.get_by_label("Plaats of adres van uw locatie").fill("Stadhuis, Stadsplateau 1")
    page.get_by_label("Eerste voorkeursdatum").fill(first_choice.isoformat())
    page.get_by_label("Dagdeel eerste voorkeur").select_option("evening")
    page.get_by_label("Tweede voorkeursdatum (optioneel)").fill(second_choice.isoformat())
    page.get_by_label("Dagdeel tweede voorkeur").select_option("afternoon")
    page.get_by_label("In welke fase is uw burgerberaad?").select_option("verkenning")
    page.get_by_label("Vertel kort over uw burgerberaad").fill("Energietransitie in de wijk.")
    page.get_by_role("button", name="Aanvraag versturen").click()
    page.wait_for_url("**/account/inhouse/*")
    assert page.get_by_text("Uw aanvraag is ontvangen").is_visible()
    assert page.get_by_role("heading", name="Inspiratiesessie burgerberaad").is_visible()
    assert page.get_by_text("Ingediend", exact=True).first.is_visible()
    booking_url = page.url

    booking = db.session.scalar(select(InhouseBooking))
    assert booking.contact_email == "griffie@utrecht.example.nl"

    # -- staff send the proposal: the only thing they touch --------------------------------
    staff_context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    staff_page = staff_context.new_page()
    staff_page.set_default_timeout(10_000)
    staff_page.base_url = live_server.url
    browser_login(staff_page, staff)
    staff_page.goto(f"{live_server.url}/admin/")
    staff_page.get_by_role("link", name="Naar alle aanvragen").click()
    staff_page.get_by_role("link", name=booking.reference).click()
    staff_page.get_by_role("button", name="Voorstel maken").click()
    # Prefilled from the first preferred date, evening, 120 minutes.
    assert (
        staff_page.get_by_label("Datum, sessie 1", exact=True).input_value()
        == first_choice.isoformat()
    )
    assert staff_page.get_by_label("Begin, sessie 1", exact=True).input_value() == "19:30"
    staff_page.get_by_label("Trainer, sessie 1", exact=True).select_option(label="Joost Bakker")
    staff_page.get_by_label("Omschrijving, regel 2", exact=True).fill("Reiskosten")
    staff_page.get_by_label("Aantal, regel 2", exact=True).fill("1")
    staff_page.get_by_label("Prijs per stuk excl. btw, regel 2", exact=True).fill("40,00")
    staff_page.get_by_role("button", name="Concept opslaan").click()
    staff_page.wait_for_url(f"**/admin/inhouse/{booking.id}/proposal/draft")
    assert staff_page.get_by_text("Het concept is opgeslagen.").is_visible()

    # The clerk sees nothing of the draft yet.
    page.reload()
    assert page.get_by_role("heading", name="Voorstel", exact=True).count() == 0

    # Preview: a PDF marked CONCEPT.
    preview_url = staff_page.get_by_role("link", name="Voorbeeld als PDF").get_attribute("href")
    preview = staff_page.request.get(f"{live_server.url}{preview_url}")
    assert preview.headers["content-type"] == "application/pdf"
    assert "CONCEPT" in _pdf_text(preview.body())

    # Edit: the travel costs were 45 after all.
    staff_page.get_by_role("button", name="Concept bewerken").click()
    staff_page.get_by_label("Prijs per stuk excl. btw, regel 2", exact=True).fill("45,00")
    staff_page.get_by_role("button", name="Concept opslaan").click()
    staff_page.wait_for_url(f"**/admin/inhouse/{booking.id}/proposal/draft")

    # Sending asks for a confirmation first.
    staff_page.get_by_role("button", name="Voorstel versturen").click()
    assert staff_page.get_by_text("Bevestig dat u het voorstel wilt versturen.").first.is_visible()
    staff_page.get_by_label("Ja, verstuur deze versie nu naar de klant").check()
    staff_page.get_by_role("button", name="Voorstel versturen").click()
    staff_page.wait_for_url(f"**/admin/inhouse/{booking.id}")
    assert staff_page.get_by_text("Versie 1 van het voorstel is verstuurd.").is_visible()
    staff_context.close()

    # -- the clerk accepts with their PO number -------------------------------------------
    page.goto(booking_url)
    assert page.get_by_role("heading", name="Voorstel", exact=True).is_visible()
    assert page.get_by_text("Joost Bakker").first.is_visible()
    assert page.get_by_text("€\u00a01.808,95").first.is_visible()  # (1450 + 45) × 1.21
    page.get_by_role("button", name="Voorstel accepteren").click()  # forgot the PO number
    assert page.get_by_text(
        "Vul uw inkoopordernummer of debiteurenreferentie in."
    ).first.is_visible()
    page.get_by_label("Inkoopordernummer of debiteurenreferentie").fill("4500123456")
    page.get_by_label("Ik ga akkoord met de voorwaarden van dit voorstel").check()
    page.get_by_role("button", name="Voorstel accepteren").click()
    page.wait_for_url(booking_url)
    assert page.get_by_text("Het voorstel is geaccepteerd").is_visible()
    assert page.get_by_text("Ingepland", exact=True).first.is_visible()
    assert page.get_by_role("heading", name="Sessies", exact=True, level=2).is_visible()

    # The portal lists it, and the invites are in the outbox.
    page.goto(f"{live_server.url}/account/")
    assert page.get_by_role("link", name="Inspiratiesessie burgerberaad").is_visible()
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert booking.status == "scheduled" and booking.po_number == "4500123456"
    assert [s.trainer.name for s in booking.sessions] == ["Joost Bakker"]
    invites = [m for m in outbox_to("griffie@utrecht.example.nl") if m.calendar_method]
    assert [m.calendar_method for m in invites] == ["REQUEST"]
    assert [m.calendar_method for m in outbox_to("trainer@example.nl")] == ["REQUEST"]
    # The accepted version's PDF says so, instead of asking to sign and return it.
    accepted = page.request.get(f"{booking_url}/proposals/1.pdf")
    text = _pdf_text(accepted.body())
    assert "Geaccepteerd op" in text and "Pieter van Dijk" in text and "Onderteken" not in text


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_request_form_works_on_a_phone(phone_page, live_server, inspiratiesessie):
    phone_page.goto(f"{live_server.url}/courses/inspiratiesessie/request")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # no sideways scrolling
    phone_page.get_by_role("button", name="Aanvraag versturen").click()
    assert phone_page.get_by_text("Geef minstens één voorkeursdatum op.").is_visible()


def test_extra_session_addendum_is_accepted_by_the_client(
    page, browser, live_server, make_course, make_user, make_organisation
):
    kit = InhouseKit(make_course, make_user, make_organisation)
    booking = kit.scheduled()
    day = booking.sessions[0].local_start.date() + timedelta(days=14)

    # -- staff add a session with its price ------------------------------------------------
    staff_context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    staff_page = staff_context.new_page()
    staff_page.set_default_timeout(10_000)
    staff_page.base_url = live_server.url
    browser_login(staff_page, kit.staff)
    staff_page.goto(f"{live_server.url}/admin/inhouse/{booking.id}/sessions/new")
    staff_page.get_by_label("Datum", exact=True).fill(day.isoformat())
    staff_page.get_by_label("Meerprijs excl. btw").fill("1.200,00")
    staff_page.get_by_role("button", name="Sessie toevoegen").click()
    staff_page.wait_for_url(f"**/admin/inhouse/{booking.id}")
    assert staff_page.get_by_text("Wacht op akkoord").first.is_visible()
    staff_context.close()

    # -- the client accepts it in the portal -----------------------------------------------
    browser_login(page, booking.requested_by)
    page.goto(f"{live_server.url}/account/inhouse/{booking.id}")
    page.get_by_role("button", name="Aanvulling 1 accepteren").click()  # forgot to agree
    assert page.get_by_text("Ga akkoord met de meerprijs").first.is_visible()
    page.get_by_label("Ik ga akkoord met de meerprijs voor deze extra sessie").check()
    page.get_by_role("button", name="Aanvulling 1 accepteren").click()
    assert page.get_by_text("De aanvulling is geaccepteerd").is_visible()
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert [a.status for a in booking.addenda] == ["accepted"]
