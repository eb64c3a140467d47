"""Staff in Chromium: from the dashboard's open-invoice count to the list of receivables, a
refused amount, a partial bank payment confirmed, then the rest, and the invoice leaves the list."""

from datetime import timedelta
from decimal import Decimal

import pytest

from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.bookings.billing.receivables import today
from bbtraining.extensions import db
from tests.browser.conftest import browser_login
from tests.security.world import build_world

pytestmark = pytest.mark.browser


def test_staff_register_a_bank_payment_in_two_parts(page, live_server):
    w = build_world()
    invoice = w.invoice
    invoice.issue_date -= timedelta(days=40)
    invoice.due_date -= timedelta(days=40)
    db.session.commit()
    total = invoice.total
    browser_login(page, w.user("admin"))

    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="open facturen").click()
    page.wait_for_url("**/admin/receivables")
    page.get_by_role("button", name="Alleen te laat").click()
    row = page.locator("#receivables").get_by_role("row", name=invoice.number)
    assert row.get_by_text(
        "26", exact=True
    ).is_visible()  # days overdue: 40 days back on a 14-day term
    row.get_by_role("button", name="Betaling registreren").click()

    amount = page.get_by_label("Ontvangen bedrag (€)")
    amount.fill(f"{total + 1:.2f}".replace(".", ","))
    page.get_by_role("button", name="Verder").click()
    assert page.get_by_text("Het bedrag is hoger dan wat nog openstaat").is_visible()
    page.get_by_label("Datum van ontvangst").fill((today() + timedelta(days=1)).isoformat())
    amount.fill("100,00")
    page.get_by_role("button", name="Verder").click()
    assert page.get_by_text("De betaaldatum ligt in de toekomst.").is_visible()
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).amount_paid == 0

    page.get_by_label("Datum van ontvangst").fill((today() - timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Verder").click()
    assert page.get_by_text("U registreert een betaling van € 100,00").is_visible()
    page.get_by_role("button", name="Betaling bevestigen").click()
    assert page.get_by_text(
        f"De betaling op factuur {invoice.number} is geregistreerd."
    ).is_visible()
    db.session.expire_all()
    paid = db.session.get(Invoice, invoice.id)
    assert paid.amount_paid == Decimal("100.00") and paid.status == "open"

    # The rest: the proposed amount is what is still open.
    assert page.get_by_label("Ontvangen bedrag (€)").input_value() in (
        f"{total - 100:.2f}".replace(".", ","),
        f"{total - 100:.2f}",
    )
    page.get_by_role("button", name="Verder").click()
    assert page.get_by_text("Daarmee is de factuur volledig betaald.").is_visible()
    page.get_by_role("button", name="Betaling bevestigen").click()
    assert page.get_by_text("Op deze factuur staat niets meer open.").is_visible()
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == "paid"

    page.goto(f"{live_server.url}/admin/receivables")
    assert page.locator("#receivables").get_by_text(invoice.number).count() == 0
