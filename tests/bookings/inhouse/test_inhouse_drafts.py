"""Draft proposals (issue #18.2) and frozen sent versions (#15.7): staff save, preview and edit a
draft the client does not see; sending asks for a confirmation; a sent version's PDF stays as it
was sent, and an accepted one says who accepted it and when instead of asking to sign."""

import base64
import io
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.inhouse import cancellation, proposals
from bbtraining.bookings.inhouse.models import InhouseBooking, today_amsterdam
from bbtraining.bookings.inhouse.proposal_models import InhouseProposal
from bbtraining.courses.models import AMSTERDAM
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.bookings.inhouse.test_inhouse_admin import _proposal_form
from tests.conftest import outbox_to


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _draft(inhouse, booking, **kwargs):
    draft = proposals.save_draft(
        booking,
        by=inhouse.staff,
        sessions=kwargs.pop("sessions", [inhouse.session_draft()]),
        lines=inhouse.lines(),
        valid_until=today_amsterdam() + timedelta(days=14),
        vat_rate=kwargs.pop("vat_rate", 21),
        terms="Annuleren kan tot vier weken vooraf.",
        note=kwargs.pop("note", ""),
    )
    db.session.commit()
    return draft


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_draft_is_for_staff_only_until_it_is_sent(inhouse, client, login):
    booking = inhouse.booking()
    contact = booking.requested_by
    mails = _count(OutboxMessage)
    draft = _draft(inhouse, booking, note="Alleen voor ons")
    assert (draft.status, draft.version, draft.sent_at) == ("draft", 1, None)
    assert booking.current_proposal is None and booking.draft_proposal is draft
    assert _count(OutboxMessage) == mails  # nothing mailed
    assert [t.action for t in booking.transitions] == ["created"]  # not on the shared timeline
    assert db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "inhouse.proposal_draft")
    )
    login(contact)
    page = client.get(f"/account/inhouse/{booking.id}").get_data(as_text=True)
    assert "Alleen voor ons" not in page and "Inspiratiesessie" in page  # the course, not the draft
    assert client.get(f"/account/inhouse/{booking.id}/proposals/1").status_code == 404
    assert client.get(f"/account/inhouse/{booking.id}/proposals/1.pdf").status_code == 404
    assert client.get(f"/admin/inhouse/{booking.id}/proposal/draft").status_code == 403
    assert client.get(f"/admin/inhouse/{booking.id}/proposal/draft.pdf").status_code == 403
    assert client.post(f"/admin/inhouse/{booking.id}/proposal/send").status_code == 403
    db.session.expire_all()
    assert db.session.get(InhouseProposal, draft.id).status == "draft"


def test_staff_preview_edit_and_send_the_draft(inhouse, client, login):
    booking = inhouse.booking()
    day = today_amsterdam() + timedelta(days=20)
    login(inhouse.staff)
    client.post(
        f"/admin/inhouse/{booking.id}/proposal", data=_proposal_form(inhouse.trainer.id, day)
    )
    page = client.get(f"/admin/inhouse/{booking.id}/proposal/draft").get_data(as_text=True)
    assert "Concept voor versie 1" in page and "Voorstel versturen" in page
    assert booking.contact_email in page  # says to whom it goes
    preview = client.get(f"/admin/inhouse/{booking.id}/proposal/draft.pdf")
    assert preview.mimetype == "application/pdf"
    text = _pdf_text(preview.data)
    assert "CONCEPT" in text and "nog niet verstuurd" in text and "1.450,00" in text

    # Editing: the form starts from the draft, and saving again changes the same draft.
    form_page = client.get(f"/admin/inhouse/{booking.id}/proposal").get_data(as_text=True)
    assert "Graag tot ziens!" in form_page
    client.post(
        f"/admin/inhouse/{booking.id}/proposal",
        data=_proposal_form(inhouse.trainer.id, day, **{"lines-0-unit_price": "1500"}),
    )
    assert _count(InhouseProposal) == 1
    assert "1.500,00" in _pdf_text(
        client.get(f"/admin/inhouse/{booking.id}/proposal/draft.pdf").data
    )

    response = client.post(f"/admin/inhouse/{booking.id}/proposal/send", data={"confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    proposal = booking.current_proposal
    assert proposal.status == "open" and proposal.sent_at is not None and proposal.version == 1
    assert proposal.snapshot["client"]["name"] == booking.organisation.name
    assert booking.status == "proposal_sent" and booking.draft_proposal is None
    [mail] = [m for m in outbox_to(booking.contact_email) if "Voorstel voor" in m.subject]
    [attachment] = mail.attachments
    sent_pdf = _pdf_text(base64.b64decode(attachment["data"]))
    assert "CONCEPT" not in sent_pdf and "1.500,00" in sent_pdf and "Onderteken" in sent_pdf
    assert client.get(f"/admin/inhouse/{booking.id}/proposal/draft").status_code == 404


def test_sending_asks_for_a_confirmation(inhouse, client, login):
    booking = inhouse.booking()
    draft = _draft(inhouse, booking)
    mails = _count(OutboxMessage)
    login(inhouse.staff)
    response = client.post(f"/admin/inhouse/{booking.id}/proposal/send", data={})
    assert response.status_code == 400
    assert "Bevestig dat u het voorstel wilt versturen." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(InhouseProposal, draft.id).status == "draft"
    assert db.session.get(InhouseBooking, booking.id).status == "submitted"
    assert _count(OutboxMessage) == mails


def test_sending_without_a_draft_or_for_a_booking_that_does_not_exist_is_a_404(
    inhouse, client, login
):
    booking = inhouse.booking()
    login(inhouse.staff)
    assert client.get(f"/admin/inhouse/{booking.id}/proposal/draft").status_code == 404
    assert client.get(f"/admin/inhouse/{booking.id}/proposal/draft.pdf").status_code == 404
    send = client.post(f"/admin/inhouse/{booking.id}/proposal/send", data={"confirm": "y"})
    assert send.status_code == 404
    assert client.get("/admin/inhouse/999999/proposal/draft").status_code == 404
    assert _count(InhouseProposal) == 0


def test_a_draft_that_went_stale_is_not_sent(inhouse, client, login):
    booking = inhouse.booking()
    draft = _draft(inhouse, booking)
    # Time passed: its session is now in the past.
    for session in draft.sessions:
        session.starts_at -= timedelta(days=60)
        session.ends_at -= timedelta(days=60)
    db.session.commit()
    login(inhouse.staff)
    response = client.post(
        f"/admin/inhouse/{booking.id}/proposal/send", data={"confirm": "y"}, follow_redirects=True
    )
    assert "Sessies in een voorstel moeten in de toekomst liggen." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(InhouseProposal, draft.id).status == "draft"
    assert db.session.get(InhouseBooking, booking.id).status == "submitted"
    assert not [m for m in outbox_to(booking.contact_email) if "Voorstel" in m.subject]


def test_a_revision_draft_leaves_the_open_version_alone_until_sent(inhouse, client, login):
    booking = inhouse.booking()
    first = inhouse.proposal(booking)
    draft = _draft(inhouse, booking, sessions=[inhouse.session_draft(days=40)])
    assert draft.version == 2 and first.status == "open"
    assert booking.current_proposal is first
    login(booking.requested_by)
    assert client.get(f"/account/inhouse/{booking.id}/proposals/2").status_code == 404
    assert client.get(f"/account/inhouse/{booking.id}/proposals/1").status_code == 200
    proposals.send_draft(booking, by=inhouse.staff)
    db.session.commit()
    assert (first.status, draft.status) == ("superseded", "open")
    assert booking.current_proposal is draft


def test_accepting_the_open_version_drops_a_revision_draft(inhouse):
    booking = inhouse.booking()
    inhouse.proposal(booking)
    _draft(inhouse, booking, sessions=[inhouse.session_draft(days=40)])
    inhouse.accept(booking)
    assert booking.draft_proposal is None and _count(InhouseProposal) == 1


def test_no_draft_for_a_booking_past_its_proposal(inhouse):
    booking = inhouse.scheduled()
    try:
        _draft(inhouse, booking)
    except DomainError as exc:
        assert "geen voorstel meer sturen" in str(exc)
    else:
        raise AssertionError("a draft for a scheduled booking was saved")
    db.session.rollback()
    assert _count(InhouseProposal) == 1


def test_a_sent_version_stays_as_it_was_sent_and_says_it_was_accepted(inhouse, client, login):
    """#15.7: a billing address given on acceptance, a renamed organisation or trainer do not
    change version 1; once accepted it no longer asks to sign and return it."""
    booking = inhouse.booking()
    booking.organisation.address = "Stadsplateau 1\n3521 AZ Utrecht"
    db.session.commit()
    inhouse.proposal(booking)
    login(booking.requested_by)
    before = _pdf_text(client.get(f"/account/inhouse/{booking.id}/proposals/1.pdf").data)
    assert "Stadsplateau 1" in before and "Onderteken" in before

    proposals.accept_proposal(
        booking,
        by=booking.requested_by,
        version=1,
        po_number="PO-77",
        agreed_to_terms=True,
        billing_address="Crediteurenadministratie\nPostbus 16200",
    )
    booking.organisation.name = "Gemeente Hernoemd"
    inhouse.trainer.name = "Andere Naam"
    db.session.commit()

    after = _pdf_text(client.get(f"/account/inhouse/{booking.id}/proposals/1.pdf").data)
    assert "Postbus 16200" not in after and "Gemeente Hernoemd" not in after
    assert "Stadsplateau 1" in after and "Joost Trainer" in after and "Andere Naam" not in after
    assert "Onderteken" not in after
    accepted_on = booking.accepted_at.astimezone(AMSTERDAM)
    assert "Geaccepteerd op" in after and booking.requested_by.name in after
    assert str(accepted_on.year) in after.split("Geaccepteerd op", 1)[1]
    page = client.get(f"/account/inhouse/{booking.id}/proposals/1").get_data(as_text=True)
    assert "Geaccepteerd op" in page


def test_cancelling_the_booking_drops_its_draft(inhouse):
    booking = inhouse.booking()
    _draft(inhouse, booking)
    cancellation.cancel_booking(booking, by=inhouse.staff, reason="Het beraad gaat niet door")
    db.session.commit()
    assert booking.draft_proposal is None and _count(InhouseProposal) == 0
