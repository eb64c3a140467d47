"""A business in another EU member state enrolls (issue #18, item 5): with a VAT number VIES
confirms, no Dutch VAT is charged and the invoice says "btw verlegd" with both VAT numbers; VIES
being away never stops the enrollment; a bad number is refused in Dutch and changes nothing.
VIES is a real HTTP peer on a local port (tests/vies_server.py)."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from bbtraining import vat
from bbtraining.bookings.billing.invoices import invoice_pdf
from bbtraining.bookings.enrollment.models import Enrollment
from bbtraining.extensions import db
from tests.bookings.enrollment.test_enroll import _snapshot
from tests.test_pdf import text_of

BELGIAN = "BE0412345614"
BELGIAN_FORM = {
    "billing_organisation": "Participatiehuis Gent vzw",
    "billing_street": "Korenmarkt 1",
    "billing_postcode": "9000",
    "billing_city": "Gent",
    "billing_country": "BE",
    "vat_number": "BE 0412.345.614",
}


def enroll(client, edition, billing_form, **changes):
    return client.post(
        f"/editions/{edition.id}/enroll", data=billing_form(**{**BELGIAN_FORM, **changes})
    )


def test_confirmed_belgian_business_is_invoiced_reverse_charge(
    client, app, make_edition, make_user, login, billing_form, vies
):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    edition = make_edition()
    login(make_user("facilitator", email="eva@example.be"))
    response = enroll(client, edition, billing_form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.reverse_charge and enrollment.vat_rate == Decimal(0)
    assert enrollment.vat_number == BELGIAN and enrollment.billing_country == "BE"
    invoice = enrollment.invoice
    assert invoice.reverse_charge and invoice.buyer_vat_number == BELGIAN
    assert (invoice.subtotal, invoice.vat_total, invoice.total) == (
        Decimal("495.00"),
        Decimal("0.00"),
        Decimal("495.00"),
    )
    check = db.session.get(vat.VatCheck, BELGIAN)
    assert check.status == "valid" and check.checked_at is not None
    text = text_of(invoice_pdf(invoice))
    assert "Btw verlegd" in text and "2006/112/EG" in text
    assert BELGIAN in text and app.config["SELLER_VAT_NUMBER"] in text  # both numbers
    assert "598,95" not in text


def test_a_credit_invoice_of_a_reverse_charge_invoice_is_reverse_charge_too(
    client, make_edition, make_user, login, billing_form, vies
):
    from bbtraining.bookings.billing.invoices import issue_credit_invoice

    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    edition = make_edition()
    login(make_user("facilitator"))
    assert enroll(client, edition, billing_form).status_code == 302
    original = db.session.scalar(select(Enrollment)).invoice
    credit = issue_credit_invoice(original)
    assert credit.reverse_charge and credit.total == Decimal("-495.00")
    assert "Btw verlegd" in text_of(invoice_pdf(credit))


@pytest.mark.parametrize("mode", ["unavailable", "error", "slow"])
def test_vies_away_never_stops_the_enrollment(
    client, make_edition, make_user, login, billing_form, vies, mode
):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    vies.mode = mode
    edition = make_edition()
    login(make_user("facilitator"))
    response = enroll(client, edition, billing_form)
    assert response.status_code == 302
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.status == "confirmed"
    # Not confirmed: Dutch VAT, the number kept, the check pending for the beat task.
    assert not enrollment.reverse_charge and enrollment.vat_rate == Decimal("21.00")
    assert enrollment.invoice.total == Decimal("598.95") and not enrollment.invoice.reverse_charge
    assert enrollment.invoice.buyer_vat_number == BELGIAN
    assert db.session.get(vat.VatCheck, BELGIAN).status == "pending"


def test_a_dutch_business_pays_dutch_vat(
    client, make_edition, make_user, login, billing_form, vies
):
    vies.registered["NL812345678B01"] = "Gemeente Utrecht"
    edition = make_edition()
    login(make_user("facilitator"))
    response = client.post(
        f"/editions/{edition.id}/enroll", data=billing_form(vat_number="NL812345678B01")
    )
    assert response.status_code == 302
    enrollment = db.session.scalar(select(Enrollment))
    assert not enrollment.reverse_charge and enrollment.invoice.total == Decimal("598.95")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "Volgens de Europese btw-database (VIES) bestaat btw-nummer BE0412345614 niet"),
        ({"vat_number": "BE0412345615"}, "Dit btw-nummer klopt niet voor België"),
        ({"vat_number": "DE136695976"}, "Dit btw-nummer is van Duitsland, maar het gekozen land"),
        ({"vat_number": "US123456789"}, "begint met de landcode van een EU-land"),
        ({"billing_country": "US"}, "Not a valid choice"),
    ],
)
def test_bad_vat_numbers_are_refused_in_dutch_and_change_nothing(
    client, make_edition, make_user, login, billing_form, vies, changes, message
):
    edition = make_edition()
    login(make_user("facilitator"))
    before = _snapshot(edition)
    response = enroll(client, edition, billing_form, **changes)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text if message != "Not a valid choice" else "field-error" in text
    assert _snapshot(edition) == before


def test_every_member_state_can_be_chosen(client, make_edition, make_user, login):
    edition = make_edition()
    login(make_user("facilitator"))
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    for code in vat.EU_COUNTRIES:
        assert f'value="{code}"' in page


def test_the_enroll_page_shows_the_reverse_charge_price_to_such_a_client(
    client, make_edition, make_user, make_organisation, login, vies
):
    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    organisation = make_organisation("Participatiehuis Gent vzw", kind="other")
    organisation.country, organisation.vat_number = "BE", BELGIAN
    vat.verify(BELGIAN)
    db.session.commit()
    edition = make_edition()
    login(make_user("client", organisation=organisation))
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    assert "Btw verlegd" in page and "de btw is verlegd" in page
    assert "Inschrijven voor € 495,00" in page or "495,00</strong>" in page
    assert "598,95" not in page
    assert 'value="BE0412345614"' in page


def test_the_enroll_page_shows_dutch_vat_while_the_number_is_not_confirmed(
    client, make_edition, make_user, make_organisation, login
):
    organisation = make_organisation("Participatiehuis Gent vzw", kind="other")
    organisation.country, organisation.vat_number = "BE", BELGIAN
    db.session.commit()
    edition = make_edition()
    login(make_user("client", organisation=organisation))
    page = client.get(f"/editions/{edition.id}/enroll").get_data(as_text=True)
    assert "598,95" in page and "Btw verlegd" not in page


def test_a_waiting_list_offer_accepted_by_a_confirmed_eu_business_is_reverse_charge(
    client, full_edition, make_user, make_organisation, login, billing_form, vies
):
    from bbtraining.bookings.enrollment import cancellation, waitlist
    from tests.bookings.enrollment.test_waitlist import _offer_link

    vies.registered[BELGIAN] = "Participatiehuis Gent vzw"
    edition = full_edition(capacity=2)
    organisation = make_organisation("Participatiehuis Gent vzw", kind="other")
    organisation.country, organisation.vat_number = "BE", BELGIAN
    waiting = make_user("client", email="wout@gent.example.be", organisation=organisation)
    waitlist.join_waitlist(edition, waiting, seats=2)
    db.session.commit()
    vat.verify(BELGIAN)
    db.session.commit()
    for enrollment in db.session.scalars(select(Enrollment)).all():
        cancellation.cancel_enrollment(enrollment, by=None, refund="full")
        db.session.commit()
    login(waiting)
    link = _offer_link("wout@gent.example.be")
    page = client.get(link).get_data(as_text=True)
    assert "btw verlegd" in page and "990,00" in page
    response = client.post(link, data=billing_form(**BELGIAN_FORM))
    assert response.status_code == 302
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == waiting.id))
    assert enrollment.reverse_charge and enrollment.invoice.total == Decimal("990.00")
    assert enrollment.invoice.reverse_charge
