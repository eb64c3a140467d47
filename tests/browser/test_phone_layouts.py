"""Issue 15: on a 360 and a 390 px phone, what a user needs to decide is on the screen.

The demo data (as `make run` loads it) gives every page its real content: Lotte's enrollment
with an invoice and a cancel link, the Gemeente Utrecht proposal with its totals, the staff
proposal form and the alumni pool. One extra card enrollment adds the pay button.
"""

import importlib

import pytest

from bbtraining.auth.models import User
from bbtraining.bookings.enrollment import enrolling
from bbtraining.bookings.enrollment.demo import DEMO_BILLING, _open_editions
from bbtraining.bookings.inhouse.models import InhouseBooking
from bbtraining.cli import DEMO_SEEDERS
from bbtraining.extensions import db
from tests.browser.conftest import browser_login

PASSWORD = "burgerberaad-demo"

# Everything inside <main> that sticks out past the right edge.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('main *')) {
    const box = el.getBoundingClientRect();
    // A header row clipped out of sight (table.stack on a phone) is for screen readers only.
    const head = el.closest('thead');
    if (head && getComputedStyle(head).position === 'absolute') continue;
    if (box.width && box.right > width + 1) {
      out.push(el.tagName + ' ' + (el.textContent || '').trim().slice(0, 40));
    }
  }
  return {page: document.documentElement.scrollWidth, width, out: out.slice(0, 5)};
}"""

# Words in headings that a line break cuts in two (each word should sit on one line).
BROKEN_WORDS = """() => {
  const broken = [];
  for (const heading of document.querySelectorAll('main h1, main h2, main h3')) {
    const walker = document.createTreeWalker(heading, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


@pytest.fixture
def demo(app, monkeypatch):
    for name in DEMO_SEEDERS:
        importlib.import_module(name).seed()
        db.session.commit()
    lotte = User.by_email("begeleider@example.nl")
    # A card payment still pending: the row shows a pay button. (Stripe is configured only while
    # enrolling; the page shows the held enrollment without calling Stripe.)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_bbtraining")
    enrolling.enroll(_open_editions()[-1], lotte, DEMO_BILLING[lotte.email], "stripe", by=lotte)
    db.session.commit()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    return lotte


def phone(browser, live_server, width: int, email: str):
    context = browser.new_context(
        locale="nl-NL", viewport={"width": width, "height": 780}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.base_url = live_server.url
    browser_login(pg, User.by_email(email), PASSWORD)
    return context, pg


def assert_fits(pg, *locators):
    """Nothing overflows sideways, and each locator is wholly inside the viewport's width."""
    found = pg.evaluate(OVERFLOW)
    assert found["page"] <= found["width"], found
    assert not found["out"], found
    assert pg.evaluate(BROKEN_WORDS) == []
    for locator in locators:
        assert locator.count(), locator
        for i in range(locator.count()):
            item = locator.nth(i)
            item.scroll_into_view_if_needed()
            box = item.bounding_box()
            assert box is not None and box["x"] >= 0, (locator, box)
            assert box["x"] + box["width"] <= found["width"] + 1, (locator, box)


@pytest.mark.parametrize("width", [360, 390])
def test_my_enrollments_show_payment_invoice_and_actions(browser, live_server, demo, width):
    context, pg = phone(browser, live_server, width, "begeleider@example.nl")
    pg.goto(pg.base_url + "/account/")
    panel = pg.locator("#my-enrollments")
    assert_fits(
        pg,
        panel.get_by_text("Factuur open"),
        panel.get_by_role("link", name="2026-00001").or_(panel.locator("a[href*='invoices']")),
        panel.get_by_role("button", name="Betalen"),
        panel.get_by_role("link", name="Annuleren"),
    )
    # Each value says which column it is, now that the header row is out of sight.
    assert panel.locator("td[data-label='Betaling']").first.is_visible()
    context.close()


@pytest.mark.parametrize("width", [360, 390])
def test_proposal_totals_fit(browser, live_server, demo, width):
    booking = db.session.query(InhouseBooking).filter_by(status="proposal_sent").first()
    context, pg = phone(browser, live_server, width, "griffie@example.nl")
    pg.goto(f"{pg.base_url}/account/inhouse/{booking.id}")
    costs = pg.locator("table.money")
    assert_fits(
        pg,
        costs.locator("tfoot td"),
        costs.locator("tfoot th"),
        pg.get_by_role("button", name="Voorstel accepteren"),
    )
    # The dashboard's list of requests fits too.
    pg.goto(pg.base_url + "/account/")
    assert_fits(pg, pg.locator("#inhouse-panel-kop"))
    context.close()


@pytest.mark.parametrize("width", [360, 390])
def test_staff_proposal_form_fits(browser, live_server, demo, width):
    booking = db.session.query(InhouseBooking).filter_by(status="submitted").first()
    context, pg = phone(browser, live_server, width, "beheer@example.nl")
    pg.goto(f"{pg.base_url}/admin/inhouse/{booking.id}/proposal")
    assert_fits(
        pg,
        pg.get_by_label("Datum, sessie 1"),
        pg.get_by_label("Online link (optioneel), sessie 1"),
        pg.get_by_label("Prijs per stuk excl. btw, regel 1"),
        pg.get_by_role("button", name="Concept opslaan"),
    )
    context.close()


@pytest.mark.parametrize("width", [360, 390])
def test_alumni_search_shows_a_result_before_the_filters(browser, live_server, demo, width):
    context, pg = phone(browser, live_server, width, "griffie@example.nl")
    pg.goto(pg.base_url + "/alumni/")
    first = pg.locator(".alumni-card").first
    # Without scrolling, the first result's name is on the screen; the filters are folded.
    name = first.locator("h3")
    box = name.bounding_box()
    assert box["y"] + box["height"] <= 780, box
    assert_fits(pg, name)
    assert not pg.get_by_label("Zoekwoorden").is_visible()
    pg.get_by_text("Filters", exact=True).click()
    pg.get_by_label("Zoekwoorden").fill("klimaat")
    pg.get_by_role("button", name="Zoeken").click()
    pg.wait_for_url("**q=klimaat**")
    assert pg.locator(".alumni-card").first.is_visible()
    context.close()


def test_alumni_filters_stay_open_on_a_desktop(page, demo):
    browser_login(page, User.by_email("griffie@example.nl"), PASSWORD)
    page.goto(page.base_url + "/alumni/")
    assert page.get_by_label("Zoekwoorden").is_visible()


@pytest.mark.parametrize("width", [360, 390])
def test_a_groups_seats_fit_and_giving_one_back_asks_first(browser, live_server, demo, width):
    from bbtraining.bookings.enrollment.models import Enrollment

    clerk = User.by_email("griffie@example.nl")
    group = (
        db.session.query(Enrollment)
        .filter(Enrollment.user_id == clerk.id, Enrollment.seats > 1)
        .first()
    )
    context, pg = phone(browser, live_server, width, "griffie@example.nl")
    pg.goto(f"{pg.base_url}/enrollments/{group.id}")
    seats = pg.locator("#seats")
    assert_fits(
        pg,
        seats.get_by_label("Naam 3"),
        seats.get_by_label("E-mailadres 3"),
        seats.get_by_role("button", name="Opslaan"),
    )
    box = seats.get_by_label("Naam 3").bounding_box()
    assert box["width"] >= 200, box  # room to read a name, not two letters
    # One tap shows what giving a seat back does; only the second gives it back.
    seats.get_by_text("Plaats 1 annuleren").click()
    confirm = seats.get_by_role("button", name="Ja, annuleer plaats 1")
    assert confirm.is_visible()
    assert_fits(pg, confirm)
    db.session.expire_all()
    assert db.session.get(Enrollment, group.id).seats == 3
    context.close()
