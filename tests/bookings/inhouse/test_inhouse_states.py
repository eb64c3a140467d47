"""The state machine of an inhouse booking: every allowed move, every refused one, and what
each step leaves behind (timeline, audit log, sessions, invites, mail)."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.bookings.inhouse import (
    cancellation,
    delivery,
    drafts,
    invoicing,
    participants,
    proposals,
    requests,
)
from bbtraining.bookings.inhouse.models import (
    ALLOWED_MOVES,
    InhouseBooking,
    InhouseSession,
    InhouseStatus,
    InhouseTransition,
    ProposalStatus,
    local_datetime,
    today_amsterdam,
)
from bbtraining.bookings.sessions.invites import CalendarInvite
from bbtraining.courses.models import AMSTERDAM, TrainingSession
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.bookings.billing.support import pay_in_full
from tests.conftest import outbox_to

S = InhouseStatus
STAFF = "trainingen@bbtraining.localhost"


def _pdf_text(data: bytes) -> str:
    import io

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _status_entries(booking) -> list[tuple[str | None, str]]:
    return [
        (t.from_status, t.to_status)
        for t in booking.transitions
        if t.action in ("created", "status")
    ]


def test_the_whole_way_from_request_to_evaluation(inhouse, client, login):
    booking = inhouse.booking()
    client_user = booking.requested_by
    requests.start_review(booking, by=inhouse.staff)
    proposal = inhouse.proposal(booking)
    assert proposal.version == 1 and booking.status == S.PROPOSAL_SENT
    sessions = inhouse.accept(booking)
    assert booking.status == S.SCHEDULED and booking.po_number == "PO-4500012345"
    assert len(sessions) == 1 and sessions[0].edition_id is None
    for session in booking.sessions:
        session.starts_at -= timedelta(days=60)
        session.ends_at -= timedelta(days=60)
    delivery.mark_delivered(booking, by=inhouse.staff)
    invoicing.issue_booking_invoice(
        booking, by=inhouse.staff, lines=invoicing.invoice_lines_from_proposal(booking)
    )
    db.session.commit()
    login(inhouse.staff)
    pay_in_full(client, booking.invoice)
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert booking.status == S.PAID  # the invoice's button moved the booking along
    delivery.mark_evaluated(booking, by=inhouse.staff, note="Evaluatie ontvangen, 8,5")
    db.session.commit()

    assert _status_entries(booking) == [
        (None, "submitted"),
        ("submitted", "in_review"),
        ("in_review", "proposal_sent"),
        ("proposal_sent", "accepted"),
        ("accepted", "scheduled"),
        ("scheduled", "delivered"),
        ("delivered", "invoiced"),
        ("invoiced", "paid"),
        ("paid", "evaluated"),
    ]
    by_status = {t.to_status: t for t in booking.transitions if t.action == "status"}
    assert by_status["accepted"].actor_id == client_user.id
    assert "PO-4500012345" in by_status["accepted"].note
    assert by_status["in_review"].actor_id == inhouse.staff.id
    assert by_status["evaluated"].note == "Evaluatie ontvangen, 8,5"
    audit_actions = set(
        db.session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.object_type == "inhouse_booking", AuditEntry.object_id == booking.id
            )
        )
    )
    for status in (
        "in_review",
        "proposal_sent",
        "accepted",
        "scheduled",
        "delivered",
        "invoiced",
        "paid",
        "evaluated",
    ):
        assert f"inhouse.{status}" in audit_actions


ALL_MOVES = [(a, b) for a in S for b in S]


@pytest.mark.parametrize(("current", "target"), ALL_MOVES)
def test_every_move_is_allowed_or_refused_as_the_process_says(inhouse, current, target):
    booking = inhouse.booking()
    booking.status = current
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(InhouseTransition))
    if target in ALLOWED_MOVES[current]:
        booking.move_to(target, by=inhouse.staff, note="test")
        db.session.commit()
        assert booking.status == target
        last = booking.transitions[-1]
        assert (last.from_status, last.to_status, last.actor_id) == (
            current,
            target,
            inhouse.staff.id,
        )
    else:
        with pytest.raises(DomainError, match="kan niet naar"):
            booking.move_to(target, by=inhouse.staff)
        db.session.rollback()
        assert db.session.get(InhouseBooking, booking.id).status == current
        after = db.session.scalar(select(func.count()).select_from(InhouseTransition))
        assert after == before


def test_cancellation_is_possible_before_delivery_only():
    before_delivery = {s for s in S if S.CANCELLED in ALLOWED_MOVES[s]}
    assert before_delivery == {
        S.SUBMITTED,
        S.IN_REVIEW,
        S.PROPOSAL_SENT,
        S.ACCEPTED,
        S.DECLINED,
        S.EXPIRED,
        S.SCHEDULED,
    }


def test_revised_proposal_supersedes_and_old_version_stays_readable(inhouse, client, login):
    booking = inhouse.booking()
    first = inhouse.proposal(booking)
    second = inhouse.proposal(booking, sessions=[inhouse.session_draft(days=33)])
    assert (first.status, second.status) == (ProposalStatus.SUPERSEDED, ProposalStatus.OPEN)
    assert second.version == 2 and booking.status == S.PROPOSAL_SENT
    assert [t.action for t in booking.transitions][-1] == "proposal_revised"
    login(booking.requested_by)
    old_page = client.get(f"/account/inhouse/{booking.id}/proposals/1")
    assert old_page.status_code == 200
    assert "Deze versie is vervangen" in old_page.get_data(as_text=True)
    old_pdf = client.get(f"/account/inhouse/{booking.id}/proposals/1.pdf")
    new_pdf = client.get(f"/account/inhouse/{booking.id}/proposals/2.pdf")
    assert old_pdf.mimetype == new_pdf.mimetype == "application/pdf"
    assert "VERVALLEN" in _pdf_text(old_pdf.data)
    assert "niet meer geldig" in _pdf_text(old_pdf.data)
    assert "VERVALLEN" not in _pdf_text(new_pdf.data)
    assert booking.reference in _pdf_text(new_pdf.data)
    # Accepting the old version is refused: the client must see what they sign.
    response = client.post(
        f"/account/inhouse/{booking.id}/accept",
        data={"accept-version": "1", "accept-po_number": "PO1", "accept-agree_terms": "y"},
    )
    assert response.status_code == 400
    assert "nieuwe versie (2)" in response.get_data(as_text=True)
    assert db.session.get(InhouseBooking, booking.id).status == S.PROPOSAL_SENT
    # Each version was mailed with its PDF.
    mails = [m for m in outbox_to(booking.contact_email) if "Voorstel" in m.subject]
    assert len(mails) == 2 and mails[1].attachments[0]["filename"].endswith("-v2.pdf")


def test_accepting_creates_sessions_and_queues_invites(inhouse, client, login):
    booking = inhouse.booking()
    second_trainer = inhouse.make_user("trainer", email="amira@example.nl", name="Amira")
    inhouse.proposal(
        booking,
        sessions=[
            inhouse.session_draft(days=30),
            inhouse.session_draft(days=31, trainer=second_trainer),
        ],
    )
    login(booking.requested_by)
    response = client.post(
        f"/account/inhouse/{booking.id}/accept",
        data={
            "accept-version": "1",
            "accept-po_number": " 4500 0123 ",
            "accept-billing_address": "Postbus 16200\n3500 CE Utrecht",
            "accept-agree_terms": "y",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert booking.status == S.SCHEDULED and booking.po_number == "4500 0123"
    assert booking.accepted_by_id == booking.requested_by_id
    assert booking.current_proposal.status == ProposalStatus.ACCEPTED
    sessions = booking.sessions
    assert len(sessions) == 2
    assert {s.trainer.email for s in sessions} == {"trainer@example.nl", "amira@example.nl"}
    assert sessions[0].starts_at == booking.current_proposal.sessions[0].starts_at
    assert all(s.edition_id is None and s.course_id == booking.course_id for s in sessions)
    links = db.session.scalars(select(InhouseSession)).all()
    assert {link.session_id for link in links} == {s.id for s in sessions}
    invites = db.session.scalars(select(CalendarInvite)).all()
    assert sorted(i.attendee_key for i in invites) == sorted(
        [f"inhouse:{booking.id}:contact"] * 2
        + [f"trainer:{inhouse.trainer.id}", f"trainer:{second_trainer.id}"]
    )
    contact_invites = [m for m in outbox_to(booking.contact_email) if m.calendar_method]
    assert len(contact_invites) == 2
    assert {m.calendar_method for m in contact_invites} == {"REQUEST"}
    assert any(
        "PO" not in m.subject and "Bevestiging" in m.subject
        for m in outbox_to(booking.contact_email)
    )
    assert any("geaccepteerd" in m.subject for m in outbox_to(STAFF))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"accept-po_number": "", "accept-agree_terms": "y"},
            "Vul uw inkoopordernummer of debiteurenreferentie in.",
        ),
        ({"accept-po_number": "PO-1"}, "Ga akkoord met de voorwaarden"),
        (
            {"accept-po_number": "x" * 101, "accept-agree_terms": "y"},
            "Het inkoopordernummer is te lang.",
        ),
    ],
)
def test_accepting_needs_po_number_and_agreement(inhouse, client, login, data, message):
    booking = inhouse.booking()
    inhouse.proposal(booking)
    login(booking.requested_by)
    response = client.post(
        f"/account/inhouse/{booking.id}/accept", data={"accept-version": "1", **data}
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(InhouseBooking, booking.id).status == S.PROPOSAL_SENT
    assert db.session.scalar(select(func.count()).select_from(TrainingSession)) == 0


def test_decline_with_reason_then_revised_proposal(inhouse, client, login):
    booking = inhouse.booking()
    inhouse.proposal(booking)
    login(booking.requested_by)
    empty = client.post(
        f"/account/inhouse/{booking.id}/decline",
        data={"decline-version": "1", "decline-reason": "  "},
    )
    assert empty.status_code == 400
    assert "Laat ons weten waarom" in empty.get_data(as_text=True)
    response = client.post(
        f"/account/inhouse/{booking.id}/decline",
        data={"decline-version": "1", "decline-reason": "Liever in het voorjaar."},
    )
    assert response.status_code == 302
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert booking.status == S.DECLINED and booking.decline_reason == "Liever in het voorjaar."
    assert booking.transitions[-1].note == "Liever in het voorjaar."
    assert any("afgewezen" in m.subject for m in outbox_to(STAFF))
    second = inhouse.proposal(booking, sessions=[inhouse.session_draft(days=90)])
    assert booking.status == S.PROPOSAL_SENT and second.version == 2
    assert booking.proposals[0].status == ProposalStatus.DECLINED  # the answer stays on record


def test_expired_proposal_cannot_be_accepted(inhouse, client, login):
    booking = inhouse.booking()
    proposal = inhouse.proposal(booking)
    proposal.valid_until = today_amsterdam() - timedelta(days=1)
    db.session.commit()
    login(booking.requested_by)
    page = client.get(f"/account/inhouse/{booking.id}")
    assert "is verlopen" in page.get_data(as_text=True)
    assert b'name="accept-po_number"' not in page.data
    response = client.post(
        f"/account/inhouse/{booking.id}/accept",
        data={"accept-version": "1", "accept-po_number": "PO-1", "accept-agree_terms": "y"},
        follow_redirects=True,
    )
    assert "kan niet meer worden geaccepteerd" in response.get_data(as_text=True)
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    # Found out on accept: the booking is expired at once, not only at the next beat.
    assert booking.status == S.EXPIRED and booking.po_number is None
    assert booking.current_proposal.status == ProposalStatus.EXPIRED
    assert db.session.scalar(select(func.count()).select_from(TrainingSession)) == 0
    with pytest.raises(DomainError, match="geen voorstel open"):
        proposals.accept_proposal(
            booking, by=booking.requested_by, version=1, po_number="PO", agreed_to_terms=True
        )


def test_valid_through_its_last_day_and_the_beat_task_expires_it(inhouse):
    booking = inhouse.booking()
    other = inhouse.booking()
    proposal = inhouse.proposal(booking)
    inhouse.proposal(other, valid_days=30)
    last_day = proposal.valid_until
    assert proposals.expire_due_proposals(today=last_day) == 0  # still valid on its last day
    assert proposals.expire_due_proposals(today=last_day + timedelta(days=1)) == 1
    db.session.commit()
    assert booking.status == S.EXPIRED and other.status == S.PROPOSAL_SENT
    assert booking.transitions[-1].actor_id is None
    assert any("verlopen" in m.subject for m in outbox_to(booking.contact_email))
    assert any("verlopen" in m.subject for m in outbox_to(STAFF))
    assert proposals.expire_due_proposals(today=last_day + timedelta(days=2)) == 0  # idempotent
    revised = inhouse.proposal(booking, valid_days=20)
    assert booking.status == S.PROPOSAL_SENT and revised.version == 2


def test_trainer_cannot_be_double_booked(inhouse, make_edition):
    edition = make_edition(trainer=inhouse.trainer, days=1, start_in_days=30)
    busy = edition.sessions[0]
    booking = inhouse.booking()
    local_day = busy.starts_at.astimezone(AMSTERDAM).date()
    overlapping = drafts.SessionDraft(
        starts_at=busy.starts_at + timedelta(hours=1),
        ends_at=busy.ends_at + timedelta(hours=1),
        trainer=inhouse.trainer,
        location="Utrecht",
    )
    with pytest.raises(DomainError, match="al ingepland"):
        inhouse.proposal(booking, sessions=[overlapping])
    db.session.rollback()
    twice = inhouse.session_draft(days=40)
    with pytest.raises(DomainError, match="twee keer tegelijk"):
        inhouse.proposal(booking, sessions=[twice, twice])
    db.session.rollback()
    # Right after the edition's session ends is fine.
    after = drafts.SessionDraft(
        starts_at=busy.ends_at,
        ends_at=busy.ends_at + timedelta(hours=2),
        trainer=inhouse.trainer,
        location="Utrecht",
    )
    assert local_day is not None
    inhouse.proposal(booking, sessions=[after])
    assert booking.status == S.PROPOSAL_SENT


def test_trainer_booked_elsewhere_meanwhile_blocks_acceptance(inhouse, make_edition):
    first = inhouse.booking()
    inhouse.proposal(first)
    second = inhouse.booking()
    inhouse.proposal(second)  # same trainer, same time: fine while nothing is scheduled
    inhouse.accept(first)
    with pytest.raises(DomainError, match="niet meer doorgaan"):
        inhouse.accept(second)
    db.session.rollback()
    assert second.status == S.PROPOSAL_SENT


def test_client_cancels_before_acceptance_not_after(inhouse):
    booking = inhouse.booking()
    inhouse.proposal(booking)
    cancellation.cancel_booking(booking, by=booking.requested_by, reason="Geen budget meer.")
    db.session.commit()
    assert booking.status == S.CANCELLED and booking.cancel_reason == "Geen budget meer."
    assert booking.current_proposal.status == ProposalStatus.WITHDRAWN
    scheduled = inhouse.scheduled()
    with pytest.raises(DomainError, match="al bevestigd"):
        cancellation.cancel_booking(scheduled, by=scheduled.requested_by, reason="Toch niet")
    db.session.rollback()
    with pytest.raises(DomainError, match="Geef een reden"):
        cancellation.cancel_booking(scheduled, by=inhouse.staff, reason=" ")


def test_staff_cancel_a_scheduled_booking_and_everyone_gets_a_cancellation(inhouse):
    booking = inhouse.scheduled()
    participants.add_participant(
        booking, by=booking.requested_by, name="Raadslid Ed", email="ed@example.nl"
    )
    cancellation.cancel_booking(booking, by=inhouse.staff, reason="Trainer ziek, geen vervanging.")
    db.session.commit()
    assert booking.status == S.CANCELLED
    assert all(s.is_cancelled for s in booking.sessions)
    for email in (booking.contact_email, "ed@example.nl", inhouse.trainer.email):
        methods = [m.calendar_method for m in outbox_to(email) if m.calendar_method]
        assert methods == ["REQUEST", "CANCEL"], email
    with pytest.raises(DomainError, match="kan niet naar"):
        cancellation.cancel_booking(booking, by=inhouse.staff, reason="nogmaals")


def test_no_cancellation_after_delivery(inhouse):
    booking = inhouse.delivered()
    with pytest.raises(DomainError, match="kan niet naar"):
        cancellation.cancel_booking(booking, by=inhouse.staff, reason="Te laat")


def test_staff_reschedule_bumps_revision_and_updates_invites(inhouse, make_edition):
    booking = inhouse.scheduled()
    session = booking.sessions[0]
    uid = db.session.scalar(
        select(CalendarInvite.uid).where(
            CalendarInvite.attendee_key == f"inhouse:{booking.id}:contact"
        )
    )
    new_start = session.starts_at + timedelta(days=1)
    delivery.change_session(
        booking,
        session.id,
        by=inhouse.staff,
        starts_at=new_start,
        ends_at=new_start + timedelta(hours=2),
        trainer=inhouse.trainer,
        location="Raadzaal",
        note="Een dag later in verband met de raadsvergadering.",
    )
    db.session.commit()
    assert session.revision == 1 and session.location == "Raadzaal"
    update = outbox_to(booking.contact_email)[-1]
    assert update.calendar_method == "REQUEST" and uid in update.calendar_ics
    assert "SEQUENCE:1" in update.calendar_ics
    assert booking.transitions[-1].action == "session_moved"
    assert "raadsvergadering" in booking.transitions[-1].note

    other = make_edition(trainer=inhouse.trainer, days=1, start_in_days=50)
    clash = other.sessions[0]
    with pytest.raises(DomainError, match="al ingepland"):
        delivery.change_session(
            booking,
            session.id,
            by=inhouse.staff,
            starts_at=clash.starts_at,
            ends_at=clash.ends_at,
            trainer=inhouse.trainer,
            location="Raadzaal",
        )
    db.session.rollback()
    with pytest.raises(DomainError, match="niets gewijzigd"):
        delivery.change_session(
            booking,
            session.id,
            by=inhouse.staff,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            trainer=inhouse.trainer,
            location="Raadzaal",
        )


def test_staff_cancel_one_session(inhouse):
    booking = inhouse.scheduled()
    session = booking.sessions[0]
    delivery.cancel_session(booking, session.id, by=inhouse.staff, reason="Zaal niet beschikbaar")
    db.session.commit()
    assert session.is_cancelled and session.revision == 1
    assert outbox_to(booking.contact_email)[-1].calendar_method == "CANCEL"
    assert booking.transitions[-1].action == "session_cancelled"
    with pytest.raises(DomainError, match="al geannuleerd"):
        delivery.cancel_session(booking, session.id, by=inhouse.staff, reason="nogmaals")
    with pytest.raises(DomainError, match="Alle sessies zijn geannuleerd"):
        delivery.mark_delivered(booking, by=inhouse.staff)


def test_delivered_only_after_the_last_session_and_by_the_beat_task(inhouse):
    booking = inhouse.scheduled()
    with pytest.raises(DomainError, match="Nog niet alle sessies zijn voorbij"):
        delivery.mark_delivered(booking, by=inhouse.staff)
    assert delivery.deliver_finished_bookings() == 0
    later = booking.sessions[-1].ends_at + timedelta(minutes=1)
    assert delivery.deliver_finished_bookings(now=later) == 1
    db.session.commit()
    assert booking.status == S.DELIVERED and booking.transitions[-1].actor_id is None


def test_participants_get_invites_and_cancellations(inhouse):
    booking = inhouse.scheduled()
    client_user = booking.requested_by
    person = participants.add_participant(
        booking, by=client_user, name="Ed Raadslid", email="Ed@Example.nl", role="raadslid"
    )
    db.session.commit()
    [invite] = outbox_to("ed@example.nl")
    assert invite.calendar_method == "REQUEST"
    with pytest.raises(DomainError, match="staat al op de lijst"):
        participants.add_participant(booking, by=client_user, name="Ed", email="ed@example.nl")
    db.session.rollback()
    participants.remove_participant(booking, person.id, by=client_user)
    db.session.commit()
    assert outbox_to("ed@example.nl")[-1].calendar_method == "CANCEL"
    assert [t.action for t in booking.transitions][-2:] == [
        "participants_changed",
        "participants_changed",
    ]


def test_invoice_after_delivery_with_po_number(inhouse):
    booking = inhouse.scheduled()
    with pytest.raises(DomainError, match="na afloop"):
        invoicing.issue_booking_invoice(booking, by=inhouse.staff, lines=inhouse.lines())
    db.session.rollback()
    booking = inhouse.delivered(booking=booking)
    invoice = invoicing.issue_booking_invoice(
        booking,
        by=inhouse.staff,
        lines=invoicing.invoice_lines_from_proposal(booking),
        billing_address="Postbus 16200\n3500 CE Utrecht",
    )
    db.session.commit()
    assert booking.status == S.INVOICED and booking.invoice_id == invoice.id
    assert invoice.reference == "PO-4500012345" and invoice.subject_type == "inhouse"
    assert invoice.buyer_organisation_id == booking.organisation_id
    assert invoice.subtotal == Decimal("1607.50")  # 1450 + 45 + 25 × 4.50
    assert invoice.vat_total == Decimal("337.58") and invoice.total == Decimal("1945.08")
    assert "Postbus 16200" in invoice.buyer_address
    mail = outbox_to(booking.contact_email)[-1]
    assert invoice.number in mail.subject
    assert mail.attachments[0]["filename"] == f"factuur-{invoice.number}.pdf"
    with pytest.raises(DomainError):
        invoicing.issue_booking_invoice(booking, by=inhouse.staff, lines=inhouse.lines())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1


def test_messages_mail_the_other_side(inhouse, client, login):
    booking = inhouse.booking()
    login(booking.requested_by)
    empty = client.post(f"/account/inhouse/{booking.id}/messages", data={"message-body": " "})
    assert empty.status_code == 400 and "Schrijf een bericht." in empty.get_data(as_text=True)
    client.post(
        f"/account/inhouse/{booking.id}/messages",
        data={"message-body": "Kan het ook op een dinsdag?"},
    )
    client.post("/auth/logout")
    staff_mail = outbox_to(STAFF)[-1]
    assert "Nieuw bericht" in staff_mail.subject
    assert "Kan het ook op een dinsdag?" in staff_mail.text_body
    before = len(outbox_to(booking.contact_email))
    login(inhouse.staff)
    response = client.post(
        f"/account/inhouse/{booking.id}/messages", data={"message-body": "Dinsdag 14 kan."}
    )
    assert response.status_code == 302 and "/admin/inhouse/" in response.headers["Location"]
    mails = outbox_to(booking.contact_email)
    assert len(mails) == before + 1 and "Dinsdag 14 kan." in mails[-1].text_body
    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert [(m.from_staff, m.body) for m in booking.messages] == [
        (False, "Kan het ook op een dinsdag?"),
        (True, "Dinsdag 14 kan."),
    ]


def test_timeline_shows_to_client_and_staff(inhouse, client, login):
    booking = inhouse.booking()
    inhouse.proposal(booking)
    for user, url in (
        (booking.requested_by, f"/account/inhouse/{booking.id}"),
        (inhouse.staff, f"/admin/inhouse/{booking.id}"),
    ):
        login(user)
        text = client.get(url).get_data(as_text=True)
        assert "Verloop" in text and "Aanvraag ingediend" in text
        assert "Voorstel verstuurd" in text and "door Sanne Staf" in text
        client.post("/auth/logout")


def test_session_times_are_amsterdam_wall_clock(inhouse):
    # 19:30 in Amsterdam in winter is 18:30 UTC, in summer 17:30 UTC.
    winter = local_datetime(datetime(2030, 1, 15).date(), time(19, 30))
    summer = local_datetime(datetime(2030, 7, 15).date(), time(19, 30))
    assert winter == datetime(2030, 1, 15, 18, 30, tzinfo=UTC)
    assert summer == datetime(2030, 7, 15, 17, 30, tzinfo=UTC)
