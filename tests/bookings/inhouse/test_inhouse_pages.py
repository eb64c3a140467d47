"""Every page of a booking renders in every state, for the client and for staff."""

import pytest

from bbtraining.bookings.inhouse import cancellation, invoicing, proposals
from bbtraining.extensions import db


@pytest.fixture
def bookings_in_every_state(inhouse, make_organisation):
    bookings = {"submitted": inhouse.booking()}
    proposal_sent = inhouse.booking()
    inhouse.proposal(proposal_sent, note="Zie de bijlage.")
    bookings["proposal_sent"] = proposal_sent
    declined = inhouse.booking()
    inhouse.proposal(declined, sessions=[inhouse.session_draft(days=50)])
    proposals.decline_proposal(declined, by=declined.requested_by, version=1, reason="Te duur")
    bookings["declined"] = declined
    bookings["invoiced"] = inhouse.invoiced()
    paid = inhouse.delivered(booking=inhouse.scheduled(sessions=[inhouse.session_draft(days=80)]))
    invoicing.issue_booking_invoice(paid, by=inhouse.staff, lines=inhouse.lines())
    paid.invoice.mark_paid("bank-transfer")
    db.session.flush()
    bookings["paid"] = paid
    cancelled = inhouse.scheduled(sessions=[inhouse.session_draft(days=90)])
    cancellation.cancel_booking(cancelled, by=inhouse.staff, reason="Geen zaal")
    bookings["cancelled"] = cancelled
    db.session.commit()
    return bookings


def test_pages_render_in_every_state(bookings_in_every_state, inhouse, client, login):
    for status, booking in bookings_in_every_state.items():
        assert booking.status == status
    for status, booking in bookings_in_every_state.items():
        login(booking.requested_by)
        page = client.get(f"/account/inhouse/{booking.id}")
        assert page.status_code == 200, status
        assert booking.status_label in page.get_data(as_text=True)
        client.post("/auth/logout")
    login(inhouse.staff)
    for status, booking in bookings_in_every_state.items():
        page = client.get(f"/admin/inhouse/{booking.id}")
        assert page.status_code == 200, status
    text = client.get("/admin/inhouse/?status=all").get_data(as_text=True)
    assert all(b.reference in text for b in bookings_in_every_state.values())
    invoiced = bookings_in_every_state["invoiced"]
    page = client.get(f"/admin/inhouse/{invoiced.id}").get_data(as_text=True)
    assert f"Betaling registreren op factuur {invoiced.invoice.number}" in page
