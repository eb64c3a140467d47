"""Issue #15 in Chromium on a phone: the QR landing page tells who may not check in before any
tap, and the trainer's tally counts a waiting self check-in once."""

import pytest
from sqlalchemy import select

from bbtraining.bookings.attendance import check_in, marking
from bbtraining.bookings.attendance.models import AttendanceRecord
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from tests.bookings.attendance import support
from tests.browser.conftest import browser_login

pytestmark = pytest.mark.browser

roster, make_run, trainer = support.roster, support.make_run, support.trainer


@pytest.fixture
def running(make_run, make_user, roster, trainer):
    session = make_run(trainer=trainer, starts=(-10,), minutes=120).sessions[0]
    people = [
        make_user("facilitator", name=name, email=f"{name.split()[0].lower()}@example.nl")
        for name in ("Eva de Boer", "Jan Jansen", "Fatima Amrani")
    ]
    keys = [roster.enroll(person).key for person in people]
    return session, people, keys


def _scan(page, session):
    token = check_in.check_in_token(session, utcnow())
    page.goto(f"{page.base_url}/check-in/{session.id}/{token}")


def test_stranger_is_told_on_the_landing_page(phone_page, running, make_user):
    session, _people, _keys = running
    stranger = make_user("facilitator", name="Sam Buiten", email="sam@example.nl")
    browser_login(phone_page, stranger)
    _scan(phone_page, session)
    alert = phone_page.get_by_role("alert")
    alert.get_by_text("U staat niet op de deelnemerslijst van deze sessie").wait_for()
    assert phone_page.get_by_role("button", name="Ik ben aanwezig").count() == 0
    assert list(db.session.scalars(select(AttendanceRecord))) == []


def test_marked_absent_is_told_and_the_tally_adds_up(phone_page, running, trainer):
    session, people, keys = running
    eva, jan, _fatima = people
    marking.mark(session, keys[1], "absent", by=trainer)  # Jan
    check_in.check_in(session, eva)  # Eva checks in, not yet confirmed
    marking.mark(session, keys[2], "present", by=trainer)  # Fatima
    db.session.commit()

    browser_login(phone_page, jan)
    _scan(phone_page, session)
    phone_page.get_by_role("alert").get_by_text(
        "De trainer heeft u voor deze sessie als afwezig of afgemeld genoteerd."
    ).wait_for()
    assert phone_page.get_by_role("button", name="Ik ben aanwezig").count() == 0

    phone_page.context.clear_cookies()
    browser_login(phone_page, trainer)
    phone_page.goto(f"{phone_page.base_url}/attendance/sessions/{session.id}")
    counts = phone_page.locator("#sheet-counts")
    counts.get_by_text("1 aanwezig · 1 afwezig · 0 afgemeld · 1 wacht op bevestiging").wait_for()
