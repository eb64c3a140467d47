"""`flask seed-demo` (as `make run` calls it) leaves every journey ready to try today: a session
today with attendance open, a proposal waiting for the client, an overdue open invoice, a match
request waiting for an answer; and no seat in the demo without a participant (issue #15)."""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from bbtraining.alumni.match_models import MatchRecipient, MatchRequest, RecipientStatus
from bbtraining.auth.demo import DEMO_PASSWORD
from bbtraining.auth.models import User
from bbtraining.bookings.attendance import marking
from bbtraining.bookings.attendance.sheet import sheet_participants
from bbtraining.bookings.billing.invoices import Invoice, InvoiceStatus
from bbtraining.bookings.enrollment.models import ACTIVE_ENROLLMENT_STATUSES, Enrollment
from bbtraining.bookings.inhouse.models import InhouseBooking, InhouseStatus
from bbtraining.bookings.inhouse.proposal_models import ProposalStatus
from bbtraining.courses.models import AMSTERDAM, Edition, TrainingSession
from bbtraining.db_types import utcnow
from bbtraining.extensions import db


def _today():
    return utcnow().astimezone(AMSTERDAM).date()


@pytest.fixture
def seeded(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()


def _login(client, email):
    response = client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_a_session_today_for_the_trainer_with_attendance_open(seeded, client):
    trainer = User.by_email("trainer@example.nl")
    now = utcnow()
    [session] = [
        s
        for s in db.session.scalars(
            select(TrainingSession).where(TrainingSession.trainer_id == trainer.id)
        )
        if s.local_start.date() == _today()
    ]
    assert marking.session_running(session, now)  # marking and the QR check-in are open
    names = {p.name for p in sheet_participants(session)}
    assert "Lotte Jansen" in names and len(names) >= 4
    _login(client, trainer.email)
    page = client.get(f"/attendance/sessions/{session.id}").get_data(as_text=True)
    assert "Lotte Jansen" in page and "QR-code tonen" in page


def test_a_proposal_waits_for_the_client(seeded, client):
    client_user = User.by_email("griffie@example.nl")
    waiting = db.session.scalars(
        select(InhouseBooking).where(
            InhouseBooking.organisation_id == client_user.organisation_id,
            InhouseBooking.status == InhouseStatus.PROPOSAL_SENT,
        )
    ).all()
    assert waiting
    proposal = waiting[0].current_proposal
    assert proposal.status == ProposalStatus.OPEN and proposal.valid_until >= _today()
    _login(client, client_user.email)
    page = client.get(f"/account/inhouse/{waiting[0].id}")
    assert page.status_code == 200


def test_an_open_invoice_is_overdue(seeded):
    overdue = db.session.scalars(
        select(Invoice).where(Invoice.status == InvoiceStatus.OPEN, Invoice.due_date < _today())
    ).all()
    assert overdue
    assert overdue[0].issue_date < overdue[0].due_date


def test_a_match_request_waits_for_an_answer(seeded, client):
    now = utcnow()
    pending = db.session.scalars(
        select(MatchRecipient)
        .join(MatchRequest)
        .where(MatchRecipient.status == RecipientStatus.PENDING, MatchRequest.expires_at > now)
    ).all()
    assert pending
    lotte = User.by_email("begeleider@example.nl")
    assert lotte.id in {r.alumnus_id for r in pending}
    _login(client, lotte.email)
    assert "Burgerberaad stikstof" in client.get("/alumni/inbox").get_data(as_text=True)
    # It asks for "twee zaterdagen", and its dates are two Saturdays.
    request = db.session.scalar(
        select(MatchRequest).where(MatchRequest.assembly == "Burgerberaad stikstof en landbouw")
    )
    assert "twee zaterdagen" in request.message
    assert [day.weekday() for day in request.date_values] == [5, 5]


def test_every_demo_seat_is_a_participant(seeded, client):
    editions = db.session.scalars(select(Edition)).all()
    assert editions
    for edition in editions:
        enrolled = db.session.scalar(
            select(func.coalesce(func.sum(Enrollment.seats), 0)).where(
                Enrollment.edition_id == edition.id,
                Enrollment.status.in_(ACTIVE_ENROLLMENT_STATUSES),
            )
        )
        assert edition.seats_taken == enrolled, edition.location
    fullest = max(editions, key=lambda e: e.seats_taken)
    assert 0 < fullest.capacity - fullest.seats_taken <= 2  # one looks nearly full, truly
    _login(client, "beheer@example.nl")
    page = client.get(f"/admin/editions/{fullest.id}/enrollments").get_data(as_text=True)
    listed = unnamed = 0
    for enrollment in db.session.scalars(
        select(Enrollment).where(
            Enrollment.edition_id == fullest.id,
            Enrollment.status.in_(ACTIVE_ENROLLMENT_STATUSES),
        )
    ):
        assert enrollment.user.email in page
        if enrollment.seats == 1:
            listed += 1
            continue
        # A group's seats are its colleagues, each named on the page or shown as still to name.
        for seat in enrollment.active_seats:
            if seat.is_named:
                assert seat.name in page
            else:
                unnamed += 1
            listed += 1
    assert page.count("nog niet ingevuld") == unnamed
    assert listed == fullest.seats_taken


def test_seeding_again_the_same_day_adds_nothing(seeded, app):
    def counts():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (TrainingSession, Enrollment, Invoice, MatchRequest, InhouseBooking)
        )

    before = counts()
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    assert counts() == before


def test_today_window_stays_within_today():
    from bbtraining.bookings.inhouse.demo import today_window

    for hour, minute in ((0, 5), (9, 7), (23, 50)):
        now = datetime(2026, 12, 4, hour, minute, tzinfo=AMSTERDAM)
        start, end = today_window(now)
        assert start.astimezone(AMSTERDAM).date() == end.astimezone(AMSTERDAM).date() == now.date()
        assert start <= now <= end
        assert start - marking.CHECK_IN_OPENS_BEFORE <= now
