"""Inhouse bookings of a business in another EU member state (issue #18, item 5): with a VAT
number VIES confirmed, the proposal shows no Dutch VAT ("btw verlegd") and the invoice is
reverse-charge with both VAT numbers; until VIES confirms it, Dutch VAT as usual."""

from decimal import Decimal

import pytest

from bbtraining import vat
from bbtraining.bookings.billing.invoices import invoice_pdf
from bbtraining.bookings.inhouse import invoicing, proposals
from bbtraining.extensions import db
from tests.test_pdf import text_of

BELGIAN = "BE0412345614"


@pytest.fixture
def belgian(make_organisation):
    org = make_organisation("Participatiehuis Gent vzw", kind="other")
    org.country, org.vat_number = "BE", BELGIAN
    db.session.commit()
    return org


def test_confirmed_number_proposal_and_invoice_are_reverse_charge(
    app, inhouse, belgian, vies, client, login
):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    vat.verify(BELGIAN)
    db.session.commit()
    contact = inhouse.client_user(belgian, email="wout@gent.example.be")
    booking = inhouse.booking(contact)
    proposal = inhouse.proposal(booking, vat_rate=Decimal("21.00"))
    assert proposal.reverse_charge and proposal.vat_rate == Decimal(0)
    subtotal, _rates, total = proposal.totals
    assert subtotal == total == Decimal("1607.50")  # 1450 + 45 + 25 x 4.50, no VAT
    pdf = text_of(proposals.proposal_pdf(proposal))
    assert "Btw verlegd" in pdf and BELGIAN in pdf

    login(contact)
    page = client.get(f"/account/inhouse/{booking.id}").get_data(as_text=True)
    assert "Btw verlegd" in page and "1.607,50" in page
    assert "1.945,08" not in page  # the amount with 21 % VAT

    inhouse.accept(booking)
    booking = inhouse.delivered(booking=booking)
    invoice = invoicing.issue_booking_invoice(
        booking, by=inhouse.staff, lines=invoicing.invoice_lines_from_proposal(booking)
    )
    db.session.commit()
    assert invoice.reverse_charge and invoice.buyer_vat_number == BELGIAN
    assert invoice.vat_total == Decimal("0.00") and invoice.total == Decimal("1607.50")
    text = text_of(invoice_pdf(invoice))
    assert "Btw verlegd" in text and BELGIAN in text and app.config["SELLER_VAT_NUMBER"] in text


def test_unconfirmed_number_pays_dutch_vat(inhouse, belgian):
    booking = inhouse.booking(inhouse.client_user(belgian))
    proposal = inhouse.proposal(booking, vat_rate=Decimal("21.00"))
    assert not proposal.reverse_charge and proposal.vat_rate == Decimal("21.00")
    assert proposal.totals[2] == Decimal("1945.08")


def test_staff_see_that_the_proposal_goes_without_vat(inhouse, belgian, vies, client, login):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    vat.verify(BELGIAN)
    db.session.commit()
    booking = inhouse.booking(inhouse.client_user(belgian))
    login(inhouse.staff)
    page = client.get(f"/admin/inhouse/{booking.id}/proposal").get_data(as_text=True)
    assert 'id="reverse-charge"' in page and "btw verlegd" in page
