"""Addenda (issue #18.3): a session added after acceptance comes with a priced addendum the
client accepts in the portal, or staff mark it as included with a reason; the booking's invoice
follows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.inhouse import addenda, cancellation, delivery, invoicing
from bbtraining.bookings.inhouse.models import InhouseBooking
from bbtraining.bookings.inhouse.proposal_models import InhouseAddendum
from bbtraining.courses.models import TrainingSession
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.conftest import outbox_to


def _form(booking, trainer, **changes) -> dict:
    day = booking.sessions[0].local_start.date() + timedelta(days=14)
    return {
        "day": day.isoformat(),
        "start": "10:00",
        "end": "12:00",
        "trainer_id": str(trainer.id),
        "location": "Raadzaal",
        "note": "",
        "price": "1.200,00",
        "included_reason": "",
        **changes,
    }


def _counts():
    """Sessions, addenda, mail and the booking's audit entries (signing in is audited too)."""
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (TrainingSession, InhouseAddendum, OutboxMessage)
    ) + (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action.like("inhouse.%"))
        ),
    )


def _add(inhouse, booking, **kwargs) -> InhouseAddendum:
    first = booking.sessions[0]
    addendum = addenda.add_priced_session(
        booking,
        by=inhouse.staff,
        starts_at=first.starts_at + timedelta(days=14),
        ends_at=first.ends_at + timedelta(days=14),
        trainer=inhouse.trainer,
        location="Raadzaal",
        price=kwargs.pop("price", Decimal("1200.00")),
        included_reason=kwargs.pop("included_reason", ""),
    )
    db.session.commit()
    return addendum


def test_extra_session_is_priced_and_the_client_accepts_it(inhouse, client, login):
    booking = inhouse.scheduled()
    login(inhouse.staff)
    page = client.get(f"/admin/inhouse/{booking.id}/sessions/new").text
    assert 'value="1450.00"' in page  # the session fee of the accepted proposal
    response = client.post(
        f"/admin/inhouse/{booking.id}/sessions/new", data=_form(booking, inhouse.trainer)
    )
    assert response.status_code == 302
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    [addendum] = booking.addenda
    assert (addendum.number, addendum.status, addendum.unit_price) == (1, "open", Decimal("1200"))
    assert addendum.session_id == booking.sessions[-1].id and addendum.vat_rate == Decimal("21")
    [mail] = [m for m in outbox_to(booking.contact_email) if "Aanvulling" in m.subject]
    assert "€ 1.452,00" in mail.text_body.replace("\xa0", " ")  # 1200 incl. 21% VAT
    assert "addendum_sent" in [t.action for t in booking.transitions]

    client.post("/auth/logout")
    login(booking.requested_by)
    portal = client.get(f"/account/inhouse/{booking.id}").text
    assert "Aanvulling 1" in portal and "Aanvulling 1 accepteren" in portal
    assert "Geef uw akkoord op aanvulling 1 (extra sessie)" in portal  # the next step
    response = client.post(
        f"/account/inhouse/{booking.id}/addenda/1/accept", data={"addendum-agree": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    addendum = db.session.get(InhouseAddendum, addendum.id)
    assert addendum.status == "accepted" and addendum.decided_by_name == booking.contact_name
    assert any("Aanvulling 1" in m.subject for m in outbox_to("trainingen@bbtraining.localhost"))
    assert "Geaccepteerd op" in client.get(f"/account/inhouse/{booking.id}").text

    # The invoice follows: the addendum is a line on the booking's one invoice.
    booking = db.session.get(InhouseBooking, booking.id)
    lines = invoicing.invoice_lines_from_proposal(booking)
    assert lines[-1].unit_price == Decimal("1200.00") and "Extra sessie" in lines[-1].description
    inhouse.delivered(booking=booking)
    invoice = invoicing.issue_booking_invoice(
        booking, by=inhouse.staff, lines=invoicing.invoice_lines_from_proposal(booking)
    )
    db.session.commit()
    # (1450 + 45 + 25 × 4.50 + 1200) × 1.21
    assert invoice.total == Decimal("3397.08")


def test_accepting_needs_the_clients_agreement(inhouse, client, login):
    booking = inhouse.scheduled()
    _add(inhouse, booking)
    login(booking.requested_by)
    before = _counts()
    response = client.post(f"/account/inhouse/{booking.id}/addenda/1/accept", data={})
    assert response.status_code == 400
    assert "Ga akkoord met de meerprijs om de aanvulling te accepteren." in response.text
    assert _counts() == before
    assert db.session.scalar(select(InhouseAddendum.status)) == "open"


def test_only_the_clients_organisation_accepts(inhouse, client, login, make_organisation):
    booking = inhouse.scheduled()
    _add(inhouse, booking)
    other = inhouse.client_user(make_organisation(name="Gemeente Elders"))
    before = _counts()
    login(other)
    url = f"/account/inhouse/{booking.id}/addenda/1/accept"
    assert client.post(url, data={"addendum-agree": "y"}).status_code == 404
    assert client.post(f"/admin/inhouse/{booking.id}/addenda/1/include").status_code == 403
    client.post("/auth/logout")
    login(inhouse.staff)
    assert client.post(url, data={"addendum-agree": "y"}).status_code == 403
    assert _counts() == before
    assert db.session.scalar(select(InhouseAddendum.status)) == "open"


def test_an_answered_or_unknown_addendum_is_refused(inhouse, client, login):
    booking = inhouse.scheduled()
    _add(inhouse, booking)
    addenda.accept_addendum(booking, 1, by=booking.requested_by)
    db.session.commit()
    login(booking.requested_by)
    before = _counts()
    again = client.post(
        f"/account/inhouse/{booking.id}/addenda/1/accept",
        data={"addendum-agree": "y"},
        follow_redirects=True,
    )
    assert "Aanvulling 1 is al afgehandeld (Geaccepteerd)." in again.text
    unknown = client.post(
        f"/account/inhouse/{booking.id}/addenda/7/accept",
        data={"addendum-agree": "y"},
        follow_redirects=True,
    )
    assert "Deze aanvulling hoort niet bij deze boeking." in unknown.text
    assert _counts() == before


def test_staff_include_an_open_addendum_with_a_reason(inhouse, client, login):
    booking = inhouse.scheduled()
    _add(inhouse, booking)
    login(inhouse.staff)
    before = _counts()
    url = f"/admin/inhouse/{booking.id}/addenda/1/include"
    refused = client.post(url, data={"include-reason": "  "})
    assert refused.status_code == 400
    assert "Geef een reden om de sessie zonder meerprijs te geven." in refused.text
    assert _counts() == before
    assert client.post(url, data={"include-reason": "Onze fout bij de planning"}).status_code == 302
    db.session.expire_all()
    addendum = db.session.scalar(select(InhouseAddendum))
    assert (addendum.status, addendum.unit_price) == ("included", Decimal(0))
    assert addendum.reason == "Onze fout bij de planning"
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "inhouse.addendum_included")
    )
    assert entry.actor_id == inhouse.staff.id and "Onze fout" in entry.data["note"]
    booking = db.session.get(InhouseBooking, booking.id)
    assert not [
        ln for ln in invoicing.invoice_lines_from_proposal(booking) if "Extra" in ln.description
    ]


def test_staff_add_a_session_included_at_once(inhouse, client, login):
    booking = inhouse.scheduled()
    login(inhouse.staff)
    response = client.post(
        f"/admin/inhouse/{booking.id}/sessions/new",
        data=_form(booking, inhouse.trainer, price="", included_reason="Inbegrepen in het pakket"),
    )
    assert response.status_code == 302
    addendum = db.session.scalar(select(InhouseAddendum))
    assert addendum.status == "included" and addendum.reason == "Inbegrepen in het pakket"
    assert not [m for m in outbox_to(booking.contact_email) if "Aanvulling" in m.subject]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": ""}, "Vul de meerprijs in, of geef een reden"),
        ({"price": "0"}, "De meerprijs is groter dan nul"),
        ({"price": "-5"}, "De meerprijs is groter dan nul"),
        ({"price": "veel"}, "Vul een bedrag of getal in"),
        ({"price": "", "included_reason": "x" * 1001}, "Houd uw tekst korter dan 1000 tekens."),
    ],
)
def test_bad_price_adds_nothing(inhouse, client, login, changes, message):
    booking = inhouse.scheduled()
    login(inhouse.staff)
    before = _counts()
    response = client.post(
        f"/admin/inhouse/{booking.id}/sessions/new",
        data=_form(booking, inhouse.trainer, **changes),
    )
    assert response.status_code == 400
    assert message in response.text
    assert _counts() == before


def test_no_invoice_while_an_addendum_waits(inhouse):
    booking = inhouse.scheduled()
    _add(inhouse, booking)
    inhouse.delivered(booking=booking)
    with pytest.raises(DomainError, match="Aanvulling 1 .* wacht nog op akkoord"):
        invoicing.issue_booking_invoice(
            booking, by=inhouse.staff, lines=invoicing.invoice_lines_from_proposal(booking)
        )
    db.session.rollback()
    assert db.session.get(InhouseBooking, booking.id).invoice_id is None


def test_cancelling_the_extra_session_withdraws_its_addendum(inhouse):
    booking = inhouse.scheduled()
    addendum = _add(inhouse, booking)
    delivery.cancel_session(booking, addendum.session_id, by=inhouse.staff, reason="Gaat niet door")
    db.session.commit()
    assert addendum.status == "withdrawn"
    assert "addendum_withdrawn" in [t.action for t in booking.transitions]
    with pytest.raises(DomainError, match="al afgehandeld"):
        addenda.accept_addendum(booking, 1, by=booking.requested_by)


def test_cancelling_the_booking_withdraws_an_open_addendum(inhouse):
    booking = inhouse.scheduled()
    addendum = _add(inhouse, booking)
    cancellation.cancel_booking(booking, by=inhouse.staff, reason="Het beraad gaat niet door")
    db.session.commit()
    assert addendum.status == "withdrawn" and addendum.decided_by_name == inhouse.staff.name
