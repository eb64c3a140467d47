"""Odd or tampered input never gives a 500 and changes nothing."""

import pytest

from bbtraining.bookings.inhouse.models import InhouseBooking
from bbtraining.extensions import db


@pytest.mark.parametrize(
    "query", ["?course=abc", "?status=bestaat-niet", "?min_age=-1", "?min_age=x&q=%00"]
)
def test_pipeline_filters_survive_nonsense(inhouse, client, login, query):
    inhouse.booking()
    login(inhouse.staff)
    assert client.get(f"/admin/inhouse/{query}").status_code in (200, 400)
    assert client.get(f"/admin/inhouse/export.csv{query}").status_code == 200


@pytest.mark.parametrize("version", ["", "abc", "7"])
def test_answer_without_the_version_read_is_refused(inhouse, client, login, version):
    booking = inhouse.booking()
    inhouse.proposal(booking)
    login(booking.requested_by)
    response = client.post(
        f"/account/inhouse/{booking.id}/accept",
        data={"accept-version": version, "accept-po_number": "PO", "accept-agree_terms": "y"},
    )
    assert response.status_code == 400
    assert "nieuwe versie" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(InhouseBooking, booking.id).status == "proposal_sent"


def test_unknown_rows_and_sessions(inhouse, client, login):
    booking = inhouse.scheduled()
    other = inhouse.scheduled(sessions=[inhouse.session_draft(days=45)])
    login(booking.requested_by)
    response = client.post(
        f"/account/inhouse/{booking.id}/participants/999/delete", follow_redirects=True
    )
    assert "staat niet op de lijst" in response.get_data(as_text=True)
    client.post("/auth/logout")
    login(inhouse.staff)
    foreign = other.sessions[0].id
    assert client.get(f"/admin/inhouse/{booking.id}/sessions/{foreign}").status_code == 404
    response = client.post(
        f"/admin/inhouse/{booking.id}/sessions/{foreign}/cancel",
        data={"cancel-reason": "x"},
        follow_redirects=True,
    )
    assert "hoort niet bij deze boeking" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(InhouseBooking, other.id).sessions[0].is_cancelled
    assert client.get("/admin/inhouse/999999").status_code == 404
