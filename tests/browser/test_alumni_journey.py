"""Journey 5 in Chromium: a client finds an available facilitator in their province who speaks
the language they need, sends a match request, the facilitator accepts through the link in the
mail, and only then does the client see the contact details."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bbtraining.extensions import db
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser

ASSEMBLY_DAY = date.today() + timedelta(days=45)


@pytest.fixture
def pool(make_user, make_organisation):
    from bbtraining.alumni import services
    from bbtraining.bookings.attendance.qualifications import record_qualification
    from bbtraining.courses.models import Course

    course = Course(
        slug="training-gespreksbegeleiders",
        title="Training gespreksbegeleiders",
        kind="facilitator-training",
        audience="facilitators",
        delivery="open",
        qualifies_for_alumni=True,
        published=True,
    )
    db.session.add(course)
    db.session.commit()

    def alumnus(name, email, province, languages, blocked=(), travel=()):
        user = make_user("facilitator", name=name, email=email)
        user.phone = "06-24681357" if "amira" in email else None
        record_qualification(user, course, source="admin")
        profile = services.save_profile(
            user,
            services.ProfileData(
                display_name=name,
                province=province,
                municipality="Utrecht",
                headline="Meertalige gespreksbegeleiding",
                bio="Ik begeleid tafelgesprekken met inwoners.",
                languages=list(languages),
                travel_provinces=list(travel),
                assemblies_count=4,
                blocked_dates=list(blocked),
            ),
        )
        services.publish_with_consent(profile, consent_given=True)
        db.session.commit()
        return profile

    amira = alumnus("Amira El Idrissi", "amira@example.nl", "utrecht", ("nl", "ar"))
    alumnus(
        "Bezet Begeleider", "bezet@example.nl", "utrecht", ("nl", "ar"), blocked=(ASSEMBLY_DAY,)
    )
    alumnus("Ver Weg", "verweg@example.nl", "groningen", ("nl", "ar"))
    alumnus("Alleen Nederlands", "nl@example.nl", "utrecht", ("nl",))
    client_user = make_user(
        "client",
        name="Pieter van Dijk",
        email="griffie@example.nl",
        organisation=make_organisation("Gemeente Utrecht"),
    )
    return {"amira": amira, "client": client_user}


def test_client_finds_requests_and_gets_contact_after_acceptance(page, browser, live_server, pool):
    from bbtraining.notifications.models import OutboxMessage

    browser_login(page, pool["client"])
    page.get_by_role("link", name="Alumni zoeken").first.click()
    page.wait_for_url("**/alumni/**")

    # One search: Arabic, free on the assembly day; then narrow to Utrecht on the map.
    page.locator(".alumni-filters form summary", has_text="Talen").click()
    page.get_by_label("Arabisch").check()
    page.get_by_label("Beschikbaar op deze data").fill(ASSEMBLY_DAY.strftime("%d-%m-%Y"))
    page.get_by_role("button", name="Zoeken").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="2 gespreksbegeleiders gevonden").is_visible()
    page.locator('a.map-province[aria-label="Utrecht: 1"]').click()
    page.wait_for_url(re.compile(r".*province=utrecht.*"))
    results = page.locator(".alumni-results")
    assert page.get_by_role("heading", name="1 gespreksbegeleider gevonden").is_visible()
    assert "Amira El Idrissi" in results.inner_text()
    assert "Bezet Begeleider" not in results.inner_text()
    assert "amira@example.nl" not in page.content()
    assert "06-24681357" not in page.content()

    # Select her and send the request.
    page.get_by_label("Selecteer Amira El Idrissi").check()
    page.get_by_role("button", name="Verzoek sturen aan selectie").click()
    page.wait_for_url("**/alumni/requests/new**")
    page.get_by_label("Burgerberaad").fill("Burgerberaad Klimaat Utrecht")
    page.get_by_label("Data van de bijeenkomsten").fill(ASSEMBLY_DAY.strftime("%d-%m-%Y"))
    page.get_by_label("Plaats").fill("Stadhuis Utrecht")
    page.get_by_label("Rol").select_option("table")
    page.get_by_label("Bericht").fill("Wij zoeken een Arabischsprekende tafelbegeleider.")
    page.get_by_role("button", name="Verzoek versturen").click()
    page.wait_for_url("**/alumni/requests/*")
    assert page.get_by_text("Wacht op antwoord").is_visible()
    request_url = page.url
    assert "amira@example.nl" not in page.content()

    # Amira opens the link from her mail in her own browser and accepts.
    db.session.expire_all()
    mail = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_email == "amira@example.nl", OutboxMessage.subject.like("Verzoek%")
        )
    )
    link = re.search(r"https?://\S+/alumni/respond/\S+", mail.text_body).group(0)
    assert link.startswith(live_server.url)
    alumna = browser.new_context(locale="nl-NL")
    try:
        her_page = alumna.new_page()
        her_page.goto(link)
        assert her_page.get_by_text("Burgerberaad Klimaat Utrecht").first.is_visible()
        assert "griffie@example.nl" not in her_page.content()
        her_page.get_by_role("button", name="Accepteren").click()
        her_page.wait_for_load_state()
        assert her_page.get_by_text("U heeft het verzoek geaccepteerd").is_visible()
    finally:
        alumna.close()

    # Only now does the client see her contact details, on the page and by mail.
    page.goto(request_url)
    assert page.get_by_text("Geaccepteerd").first.is_visible()
    assert page.get_by_role("link", name="amira@example.nl").is_visible()
    assert "06-24681357" in page.content()
    db.session.expire_all()
    to_client = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.to_email == "griffie@example.nl",
            OutboxMessage.subject.like("%wil uw burgerberaad begeleiden%"),
        )
    )
    assert "amira@example.nl" in to_client.text_body


def test_search_page_works_on_a_phone(phone_page, pool):
    browser_login(phone_page, pool["client"])
    phone_page.goto(phone_page.base_url + "/alumni/?province=utrecht")
    assert phone_page.get_by_role("heading", name="Gespreksbegeleiders zoeken").is_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page scrolls sideways on a phone ({width}px)"
