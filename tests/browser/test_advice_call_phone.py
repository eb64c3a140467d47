"""Journey 7 in Chromium on a phone (390 px): a council clerk in the verkenning phase goes from
the home page to a confirmed kennismakingsgesprek in a few taps, with the slots on their own
clock, and gets the invite."""

from datetime import time
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bbtraining.advice.models import AdviceCall, AdvisorHours, AdvisorProfile
from bbtraining.extensions import db
from tests.browser.test_a11y import MARKUP_PROBLEMS, axe_violations
from tests.conftest import PASSWORD, outbox_to

pytestmark = pytest.mark.browser


@pytest.fixture
def advisor(make_user):
    user = make_user("advisor", name="Anke Adviseur", email="anke@example.nl")
    profile = AdvisorProfile(user=user, meeting_url="https://meet.example.nl/anke")
    for weekday in range(5):
        profile.hours.append(AdvisorHours(weekday=weekday, starts=time(9), ends=time(17)))
    db.session.add(profile)
    db.session.commit()
    return profile


@pytest.fixture
def london_phone(browser, live_server):
    context = browser.new_context(
        locale="nl-NL",
        timezone_id="Europe/London",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.base_url = live_server.url
    yield pg
    context.close()


def test_a_clerk_books_a_call_from_the_home_page_on_a_phone(london_phone, advisor):
    page = london_phone
    page.goto(page.base_url + "/")
    page.locator("#plan-call").tap()
    # The page asks again with the phone's own zone: the slots are on London's clock.
    page.wait_for_url("**/advies/kennismaking?*tz=Europe%2FLondon*")
    assert page.locator("text=Tijden in uw tijdzone (Europe/London)").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    assert axe_violations(page) == [] and page.evaluate(MARKUP_PROBLEMS) == []

    first = page.locator(".slot-grid label").first
    label = first.inner_text().strip()
    first.tap()
    page.get_by_label("Naam van uw organisatie").fill("Gemeente Zeist")
    page.get_by_label("Uw naam").fill("Mila Jansen")
    page.get_by_label("Uw e-mailadres").fill("mila@zeist.example.nl")
    page.get_by_label("Kies een wachtwoord").fill(PASSWORD)
    page.get_by_label("Herhaal wachtwoord").fill(PASSWORD)
    assert not page.get_by_label("Telefoonnummer").is_visible()  # online is the default
    page.get_by_role("button", name="Gesprek inplannen").tap()

    page.wait_for_url("**/advies/gesprek/**")
    assert page.get_by_text("Uw gesprek is ingepland").is_visible()
    assert page.get_by_text("Anke Adviseur").first.is_visible()
    db.session.expire_all()
    call = db.session.scalar(select(AdviceCall))
    assert call.time_zone == "Europe/London" and call.phase == "verkenning"
    assert f"{call.starts_at.astimezone(ZoneInfo('Europe/London')):%H:%M}" == label
    [mail] = [m for m in outbox_to("mila@zeist.example.nl") if m.calendar_ics]
    invite = Calendar.from_ical(mail.calendar_ics)
    assert str(invite["METHOD"]) == "REQUEST"
    assert str(invite.walk("VEVENT")[0]["UID"]) == call.uid
    assert label in mail.text_body and "(Europe/London)" in mail.text_body
    # The page of the call (the confirmation, and the mailed link to move or cancel).
    assert axe_violations(page) == [] and page.evaluate(MARKUP_PROBLEMS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
