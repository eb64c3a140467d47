"""Issue #15 item 18 in Chromium on a 390 px phone: the clerk pastes the council's members, reads
the verdict per row, fixes nothing, confirms; the list then holds them and the bad row was left."""

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.inhouse.models import InhouseParticipant
from bbtraining.extensions import db
from tests.bookings.inhouse.conftest import InhouseKit
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser


def test_clerk_pastes_a_list_on_a_phone(phone_page, make_course, make_user, make_organisation):
    kit = InhouseKit(make_course, make_user, make_organisation)
    clerk = kit.client_user(make_organisation("Gemeente Utrecht"), email="griffie@utrecht.nl")
    booking = kit.scheduled(clerk)
    pasted = "\n".join(
        [f"Raadslid {i}\traadslid{i}@utrecht.nl" for i in range(1, 36)]
        + ["Zonder adres\tgeen-adres"]
    )
    page = phone_page
    browser_login(page, clerk)
    page.goto(f"{page.base_url}/account/inhouse/{booking.id}")
    page.get_by_role("link", name="Een lijst plakken of een bestand inlezen").click()
    page.get_by_label("Plak een lijst").fill(pasted)
    page.get_by_role("button", name="Controleer de lijst").click()
    page.get_by_text("35 deelnemers kunnen worden toegevoegd.").wait_for()
    assert page.get_by_text("Vul een geldig e-mailadres in").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert db.session.scalar(select(func.count()).select_from(InhouseParticipant)) == 0
    page.get_by_role("button", name="Bevestig: voeg 35 deelnemers toe").click()
    page.wait_for_url("**#deelnemers")
    assert page.get_by_text("35 deelnemers toegevoegd.").is_visible()
    assert page.get_by_text("1 regel met een fout is niet toegevoegd.").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(InhouseParticipant)) == 35
