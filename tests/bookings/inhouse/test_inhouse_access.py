"""Who sees what: every client of the organisation sees its bookings, no other organisation sees
anything (404 on every URL, so ids reveal nothing), staff pages are for staff."""

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.inhouse import invoicing, messages, participants
from bbtraining.bookings.inhouse.models import InhouseBooking, InhouseMessage, InhouseTransition
from bbtraining.extensions import db


@pytest.fixture
def world(inhouse, make_organisation, make_user):
    utrecht, zeist = make_organisation("Gemeente Utrecht"), make_organisation("Gemeente Zeist")
    requester = inhouse.client_user(utrecht, email="griffie@utrecht.example.nl")
    colleague = inhouse.client_user(utrecht, email="collega@utrecht.example.nl")
    stranger = inhouse.client_user(zeist, email="griffie@zeist.example.nl")
    facilitator = make_user("facilitator", email="lotte@example.nl", organisation=utrecht)
    booking = inhouse.booking(requester)
    inhouse.proposal(booking)
    inhouse.proposal(booking)  # two versions
    inhouse.accept(booking)
    participants.add_participant(booking, by=requester, name="Ed", email="ed@example.nl")
    messages.post_message(booking, by=requester, body="Hallo")
    db.session.commit()
    open_one = inhouse.booking(colleague)
    inhouse.proposal(open_one, sessions=[inhouse.session_draft(days=60)])
    return {
        "booking": booking,
        "open": open_one,
        "requester": requester,
        "colleague": colleague,
        "stranger": stranger,
        "facilitator": facilitator,
        "participant_id": booking.participants[0].id,
        "session_id": booking.sessions[0].id,
    }


def _client_urls(w) -> list[tuple[str, str, dict]]:
    b, o = w["booking"].id, w["open"].id
    return [
        ("GET", f"/account/inhouse/{b}", {}),
        ("GET", f"/account/inhouse/{b}/proposals/1", {}),
        ("GET", f"/account/inhouse/{b}/proposals/2", {}),
        ("GET", f"/account/inhouse/{b}/proposals/1.pdf", {}),
        ("GET", f"/account/inhouse/{b}/proposals/2.pdf", {}),
        ("POST", f"/account/inhouse/{b}/messages", {"message-body": "Hallo?"}),
        (
            "POST",
            f"/account/inhouse/{b}/participants",
            {"participant-name": "X", "participant-email": "x@example.nl"},
        ),
        ("POST", f"/account/inhouse/{b}/participants/{w['participant_id']}/delete", {}),
        ("POST", f"/account/inhouse/{b}/cancel", {"cancel-reason": "weg"}),
        (
            "POST",
            f"/account/inhouse/{o}/accept",
            {"accept-version": "1", "accept-po_number": "PO", "accept-agree_terms": "y"},
        ),
        (
            "POST",
            f"/account/inhouse/{o}/decline",
            {"decline-version": "1", "decline-reason": "nee"},
        ),
        ("POST", f"/account/inhouse/{o}/cancel", {"cancel-reason": "weg"}),
        ("GET", f"/account/inhouse/{o}", {}),
    ]


def _admin_urls(w) -> list[tuple[str, str, dict]]:
    b, o, s = w["booking"].id, w["open"].id, w["session_id"]
    return [
        ("GET", "/admin/inhouse/", {}),
        ("GET", "/admin/inhouse/export.csv", {}),
        ("GET", f"/admin/inhouse/{b}", {}),
        ("POST", f"/admin/inhouse/{o}/review", {}),
        ("POST", f"/admin/inhouse/{o}/confirm-membership", {}),
        ("GET", f"/admin/inhouse/{o}/proposal", {}),
        ("POST", f"/admin/inhouse/{o}/proposal", {}),
        ("GET", f"/admin/inhouse/{b}/sessions/new", {}),
        ("POST", f"/admin/inhouse/{b}/sessions/new", {}),
        ("GET", f"/admin/inhouse/{b}/sessions/{s}", {}),
        ("POST", f"/admin/inhouse/{b}/sessions/{s}", {}),
        ("POST", f"/admin/inhouse/{b}/sessions/{s}/cancel", {"cancel-reason": "x"}),
        ("POST", f"/admin/inhouse/{b}/delivered", {}),
        ("GET", f"/admin/inhouse/{b}/invoice", {}),
        ("POST", f"/admin/inhouse/{b}/invoice", {}),
        ("POST", f"/admin/inhouse/{b}/evaluated", {}),
        ("POST", f"/admin/inhouse/{b}/cancel", {"cancel-reason": "x"}),
    ]


def _snapshot():
    return (
        [(b.id, b.status, b.lock_version) for b in db.session.scalars(select(InhouseBooking))],
        db.session.scalar(select(func.count()).select_from(InhouseTransition)),
        db.session.scalar(select(func.count()).select_from(InhouseMessage)),
    )


def _call(client, method, url, data):
    return client.get(url) if method == "GET" else client.post(url, data=data)


@pytest.mark.parametrize("who", ["stranger", "facilitator"])
def test_other_organisation_gets_404_on_every_url(world, client, login, who):
    before = _snapshot()
    login(world[who])
    for method, url, data in _client_urls(world):
        response = _call(client, method, url, data)
        assert response.status_code == 404, (method, url)
    # An id that does not exist answers the same.
    assert client.get("/account/inhouse/999999").status_code == 404
    assert client.get(f"/invoices/{999999}.pdf").status_code == 404
    db.session.expire_all()
    assert _snapshot() == before
    page = client.get("/account/").get_data(as_text=True)
    assert world["booking"].reference not in page and world["open"].reference not in page


def test_every_client_of_the_organisation_sees_its_bookings(world, client, login):
    booking, open_one = world["booking"], world["open"]
    for user in (world["requester"], world["colleague"]):
        login(user)
        for method, url, _data in _client_urls(world):
            if method == "GET":
                assert client.get(url).status_code == 200, (user.email, url)
        page = client.get("/account/").get_data(as_text=True)
        assert booking.reference in page and open_one.reference in page
        client.post("/auth/logout")
    # A colleague may accept what another colleague asked for.
    login(world["requester"])
    response = client.post(
        f"/account/inhouse/{open_one.id}/accept",
        data={"accept-version": "1", "accept-po_number": "PO-9", "accept-agree_terms": "y"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(InhouseBooking, open_one.id).status == "scheduled"


def test_invoice_pdf_follows_the_organisation(world, inhouse, client, login):
    booking = world["booking"]
    inhouse.delivered(booking=booking)
    invoice = invoicing.issue_booking_invoice(
        booking, by=inhouse.staff, lines=invoicing.invoice_lines_from_proposal(booking)
    )
    db.session.commit()
    url = f"/invoices/{invoice.id}.pdf"
    for who, status in (("stranger", 404), ("colleague", 200), ("requester", 200)):
        login(world[who])
        assert client.get(url).status_code == status, who
        if status == 200:
            assert f"/invoices/{invoice.id}.pdf" in client.get(
                f"/account/inhouse/{booking.id}"
            ).get_data(as_text=True)
        client.post("/auth/logout")


def test_anonymous_visitors_are_sent_to_login(world, client):
    for method, url, data in _client_urls(world):
        response = _call(client, method, url, data)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("who", ["requester", "stranger"])
def test_staff_pages_are_for_staff_only(world, client, login, who):
    before = _snapshot()
    login(world[who])
    for method, url, data in _admin_urls(world):
        assert _call(client, method, url, data).status_code == 403, (method, url)
    assert client.post("/admin/invoices/1/payment").status_code == 403
    db.session.expire_all()
    assert _snapshot() == before


def test_staff_read_client_pages_but_do_not_answer_for_the_client(world, inhouse, client, login):
    login(inhouse.staff)
    open_one = world["open"]
    assert client.get(f"/account/inhouse/{open_one.id}").status_code == 200
    response = client.post(
        f"/account/inhouse/{open_one.id}/accept",
        data={"accept-version": "1", "accept-po_number": "PO", "accept-agree_terms": "y"},
    )
    assert response.status_code == 403
    for method, url, _data in _admin_urls(world):
        if method == "GET":
            assert client.get(url).status_code == 200, url


def test_posts_without_csrf_token_change_nothing(world, client, login):
    before = _snapshot()
    login(world["requester"])
    for method, url, data in _client_urls(world):
        if method == "POST":
            assert client.post(url, data=data, csrf=False).status_code == 400, url
    db.session.expire_all()
    assert _snapshot() == before
