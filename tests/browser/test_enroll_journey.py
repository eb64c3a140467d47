"""Journey 2 up to payment, and journey 3 (the waiting list), in Chromium.

The app is created here with the Stripe stand-in configured, because the Content-Security-Policy
(form-action, which also governs the redirect to the payment page) is fixed when the app is made.
"""

import re

import pytest
from sqlalchemy import select

from bbtraining import create_app
from bbtraining.bookings.enrollment import cancellation
from bbtraining.bookings.enrollment.models import Enrollment, WaitlistEntry
from bbtraining.extensions import db
from tests.bookings import conftest as bookings_fixtures
from tests.bookings.conftest import SECRET
from tests.browser.conftest import LiveServer, browser_login
from tests.conftest import outbox_to
from tests.stripe_stub import StripeStub

# The enrollment factories of the bookings tests, shared here (courses come from tests/conftest.py).
billing = bookings_fixtures.billing
make_enrollment = bookings_fixtures.make_enrollment


@pytest.fixture
def stripe_site(app):
    """(base url, stub): the app on a real port, paying through the local Stripe stand-in."""
    with StripeStub(webhook_secret=SECRET) as stub:
        shop = create_app(
            "testing",
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            OUTBOX_AUTO_ENQUEUE=False,
            MAILBOX_DIR=app.config["MAILBOX_DIR"],
            RATELIMIT_KEY_PREFIX=app.config["RATELIMIT_KEY_PREFIX"] + "-shop",
            STRIPE_SECRET_KEY="sk_test_bbtraining",
            STRIPE_WEBHOOK_SECRET=SECRET,
            STRIPE_API_BASE=stub.url,
            STRIPE_CHECKOUT_ORIGIN=stub.url,
        )
        server = LiveServer(shop)
        shop.config["PUBLIC_URL"] = server.url
        stub.webhook_url = f"{server.url}/stripe/webhook"
        server.start()
        try:
            yield server.url, stub
        finally:
            server.stop()
            with shop.app_context():
                db.session.remove()
                db.engine.dispose()


@pytest.fixture
def shop_page(browser, stripe_site):
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.base_url = stripe_site[0]
    yield pg
    context.close()


def test_visitor_enrolls_with_a_new_account_and_pays_by_ideal(shop_page, stripe_site, make_edition):
    _url, stub = stripe_site
    edition = make_edition(capacity=4)
    page = shop_page
    page.goto(f"{page.base_url}/editions/{edition.id}/enroll")
    assert page.get_by_role("heading", name=re.compile("Inschrijven")).first.is_visible()
    assert page.get_by_text("598,95").first.is_visible()  # incl. VAT
    assert page.get_by_text("495,00").first.is_visible()  # excl. VAT
    page.get_by_label("E-mailadres").fill("nieuw@example.nl")
    page.get_by_label("Kies een wachtwoord").fill("lange zin als wachtwoord")
    page.get_by_label("Herhaal wachtwoord").fill("lange zin als wachtwoord")
    page.get_by_label("Naam", exact=True).fill("Noor Nieuw")
    page.get_by_label("Straat en huisnummer").fill("Domplein 4")
    page.get_by_label("Postcode").fill("3512jc")
    page.get_by_label("Plaats", exact=True).fill("Utrecht")
    page.get_by_label("iDEAL of creditcard").check()
    page.get_by_label("Ik ga akkoord met de annuleringsvoorwaarden").check()
    page.get_by_role("button", name=re.compile("Inschrijven voor")).click()

    # On the payment page (the stand-in for checkout.stripe.com).
    page.wait_for_url(f"{stub.url}/pay/**")
    assert page.get_by_text("598.95").is_visible()
    page.get_by_role("button", name="Betalen", exact=True).click()

    page.wait_for_url(re.compile(r"/enrollments/\d+\?betaling=klaar"))
    assert page.locator("#enrollment-status").inner_text() == "Bevestigd"
    assert page.get_by_text("Uw betaling is ontvangen").is_visible()
    assert stub.deliveries and stub.deliveries[-1][1] == 200

    db.session.expire_all()
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.user.email == "nieuw@example.nl"
    assert enrollment.status == "confirmed" and enrollment.payment_status == "paid"
    assert enrollment.billing_postcode == "3512 JC"
    assert enrollment.invoice.status == "paid"
    assert any(
        m.subject.startswith("Inschrijving bevestigd") for m in outbox_to("nieuw@example.nl")
    )

    page.get_by_role("link", name="Naar mijn overzicht").click()
    panel = page.locator("#my-enrollments")
    assert panel.get_by_text(edition.course.title).is_visible()
    assert panel.get_by_text(enrollment.invoice.number).is_visible()


def test_full_edition_puts_a_facilitator_on_the_waiting_list_and_the_offer_reaches_them(
    shop_page, make_edition, make_enrollment, make_user
):
    edition = make_edition(capacity=1)
    taken = make_enrollment(edition)
    user = make_user("facilitator", name="Wim Wachter", email="wim@example.nl")
    page = shop_page
    browser_login(page, user)
    page.goto(f"{page.base_url}/editions/{edition.id}/enroll")
    assert page.locator("#seats-left").get_by_text("Vol").is_visible()
    page.get_by_label("Aantal plaatsen").fill("1")
    page.get_by_role("button", name="Zet mij op de wachtlijst").click()
    assert page.get_by_text("U staat op de wachtlijst, op plaats 1").is_visible()
    assert page.locator("#on-waitlist").is_visible()

    # The seat frees up; the offer mail's link lets Wim accept, paying by invoice.
    cancellation.cancel_enrollment(taken, by=None, refund="full")
    db.session.commit()
    assert db.session.scalar(select(WaitlistEntry)).status == "offered"
    mail = [m for m in outbox_to("wim@example.nl") if m.subject.startswith("Er is een plaats")][-1]
    path = re.search(r"(/waitlist/offer/\S+)", mail.text_body).group(1)
    page.goto(page.base_url + path)
    assert page.get_by_text("Er staat 1 plaats voor u klaar").is_visible()
    page.get_by_label("Straat en huisnummer").fill("Domplein 4")
    page.get_by_label("Postcode").fill("3512 JC")
    page.get_by_label("Plaats", exact=True).fill("Utrecht")
    page.get_by_label("Factuur (bankoverschrijving)").check()
    page.get_by_label("Ik ga akkoord met de annuleringsvoorwaarden").check()
    page.get_by_role("button", name="Aanbod accepteren").click()
    page.wait_for_url(re.compile(r"/enrollments/\d+$"))
    assert page.locator("#enrollment-status").inner_text() == "Bevestigd"
