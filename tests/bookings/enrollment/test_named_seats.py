"""Named seats: a booker enrolls colleagues, each becomes a participant of their own (invite,
attendance row, certificate, qualification), can be named later and replaced until the start;
one invoice to the booker with the names on it; capacity holds through renames."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.billing.invoices import Invoice
from bbtraining.bookings.enrollment import enrolling, named_seats
from bbtraining.bookings.enrollment.models import Enrollment, EnrollmentSeat
from bbtraining.bookings.sessions.invites import CalendarInvite
from bbtraining.bookings.sessions.participants import session_participants, sessions_for_user
from bbtraining.db_types import utcnow
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.bookings.conftest import seats_taken
from tests.conftest import outbox_to

COLLEAGUES = [("Anna Bakker", "anna@gemeente.nl"), ("Bram Claes", "bram@gemeente.nl")]


def _group_form(billing_form, *, seats, myself=True, colleagues=COLLEAGUES):
    data = billing_form(group_size=str(seats), billing_organisation="Gemeente Zeist")
    if not myself:
        data["not_attending"] = "y"
    for i, (name, email) in enumerate(colleagues):
        data[f"colleagues-{i}-name"] = name
        data[f"colleagues-{i}-email"] = email
    return data


def _invites(email):
    return [m for m in outbox_to(email) if m.calendar_method]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_enrolling_colleagues_makes_each_a_participant_with_their_own_invite(
    client, make_edition, make_user, login, billing_form
):
    trainer = make_user("trainer")
    edition = make_edition(capacity=5, days=2, trainer=trainer)
    booker = make_user("client", email="griffie@gemeente.nl", name="Greet Griffier")
    login(booker)
    response = client.post(
        f"/editions/{edition.id}/enroll", data=_group_form(billing_form, seats=3)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.seats == 3 and enrollment.status == "confirmed"
    assert seats_taken(edition) == 3
    assert [(s.position, s.name, s.email) for s in enrollment.active_seats] == [
        (1, "Greet Griffier", "griffie@gemeente.nl"),
        (2, "Anna Bakker", "anna@gemeente.nl"),
        (3, "Bram Claes", "bram@gemeente.nl"),
    ]
    assert enrollment.active_seats[0].user_id == booker.id  # the booker's own seat
    assert enrollment.active_seats[1].user_id is None  # a colleague's account is not guessed
    people = session_participants(edition.sessions[0], include_trainer=False)
    assert sorted(p.email for p in people) == [
        "anna@gemeente.nl",
        "bram@gemeente.nl",
        "griffie@gemeente.nl",
    ]
    assert all(p.key.startswith("seat:") for p in people)
    for email in ("anna@gemeente.nl", "bram@gemeente.nl", "griffie@gemeente.nl"):
        invites = _invites(email)
        assert len(invites) == 2 and {m.calendar_method for m in invites} == {"REQUEST"}
    # One invoice, to the booker's organisation, three seats, the names on its line.
    invoice = db.session.scalar(select(Invoice))
    assert _count(Invoice) == 1 and invoice.buyer_name == "Gemeente Zeist"
    assert invoice.buyer_email == "griffie@gemeente.nl"
    line = invoice.lines[0]
    assert line.quantity == 3
    assert "Greet Griffier, Anna Bakker, Bram Claes" in line.description


def test_booker_who_does_not_attend_gets_no_invite_and_an_open_seat_can_be_named_later(
    client, make_edition, make_user, login, billing_form
):
    edition = make_edition(capacity=5, days=1)
    booker = make_user("client", email="griffie@gemeente.nl")
    login(booker)
    data = _group_form(billing_form, seats=3, myself=False, colleagues=COLLEAGUES)
    assert client.post(f"/editions/{edition.id}/enroll", data=data).status_code == 302
    enrollment = db.session.scalar(select(Enrollment))
    assert [s.email for s in enrollment.active_seats] == [
        "anna@gemeente.nl",
        "bram@gemeente.nl",
        None,
    ]
    assert _invites("griffie@gemeente.nl") == []
    assert sessions_for_user(booker) == []  # not in the booker's calendar feed either
    assert len(session_participants(edition.sessions[0], include_trainer=False)) == 2

    page = client.get(f"/enrollments/{enrollment.id}")
    text = page.get_data(as_text=True)
    assert "Deelnemers" in text and 'name="seat3-name"' in text

    response = client.post(
        f"/enrollments/{enrollment.id}/seats/3",
        data={"seat3-name": "Cor Dekker", "seat3-email": "Cor@Gemeente.nl"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    seat = db.session.get(Enrollment, enrollment.id).active_seats[2]
    assert (seat.name, seat.email) == ("Cor Dekker", "cor@gemeente.nl")
    assert [m.calendar_method for m in _invites("cor@gemeente.nl")] == ["REQUEST"]
    assert seats_taken(edition) == 3  # naming never moves capacity


def test_replacing_a_colleague_cancels_their_invite_and_invites_the_new_one(
    client, make_edition, make_user, login, billing_form
):
    edition = make_edition(capacity=5, days=1)
    booker = make_user("client", email="griffie@gemeente.nl")
    login(booker)
    client.post(f"/editions/{edition.id}/enroll", data=_group_form(billing_form, seats=3))
    enrollment = db.session.scalar(select(Enrollment))
    old_key = enrollment.active_seats[1].participant_key
    response = client.post(
        f"/enrollments/{enrollment.id}/seats/2",
        data={"seat2-name": "Dirk Eerland", "seat2-email": "dirk@gemeente.nl"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert [m.calendar_method for m in _invites("anna@gemeente.nl")] == ["REQUEST", "CANCEL"]
    assert [m.calendar_method for m in _invites("dirk@gemeente.nl")] == ["REQUEST"]
    rows = db.session.scalars(
        select(EnrollmentSeat).where(EnrollmentSeat.position == 2).order_by(EnrollmentSeat.id)
    ).all()
    assert [(r.email, r.status) for r in rows] == [
        ("anna@gemeente.nl", "replaced"),
        ("dirk@gemeente.nl", "active"),
    ]
    invite = db.session.scalar(select(CalendarInvite).where(CalendarInvite.attendee_key == old_key))
    assert invite.status == "cancelled"
    assert seats_taken(edition) == 3
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert len(enrollment.active_seats) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"seat2-name": "", "seat2-email": "x@gemeente.nl"}, "Dit veld is verplicht."),
        ({"seat2-name": "X", "seat2-email": "geen-adres"}, "Vul een geldig e-mailadres in"),
        (
            {"seat2-name": "Bram", "seat2-email": "bram@gemeente.nl"},
            "bram@gemeente.nl neemt al deel aan deze editie.",
        ),
        (
            {"seat2-name": "Greet", "seat2-email": "griffie@gemeente.nl"},
            "griffie@gemeente.nl neemt al deel aan deze editie.",
        ),
    ],
)
def test_bad_seat_changes_are_refused_in_dutch_and_change_nothing(
    client, make_edition, make_user, login, billing_form, data, message
):
    edition = make_edition(capacity=5, days=1)
    login(make_user("client", email="griffie@gemeente.nl"))
    client.post(f"/editions/{edition.id}/enroll", data=_group_form(billing_form, seats=3))
    enrollment = db.session.scalar(select(Enrollment))
    before = (_count(EnrollmentSeat), _count(OutboxMessage))
    response = client.post(f"/enrollments/{enrollment.id}/seats/2", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert (_count(EnrollmentSeat), _count(OutboxMessage)) == before
    assert db.session.get(Enrollment, enrollment.id).active_seats[1].email == "anna@gemeente.nl"


def test_seats_cannot_change_after_the_start_or_by_someone_else(
    client, make_edition, make_user, login, billing_form
):
    edition = make_edition(capacity=5, days=1)
    booker = make_user("client", email="griffie@gemeente.nl")
    login(booker)
    client.post(f"/editions/{edition.id}/enroll", data=_group_form(billing_form, seats=3))
    enrollment = db.session.scalar(select(Enrollment))
    data = {"seat2-name": "Dirk", "seat2-email": "dirk@gemeente.nl"}
    # Another user: the enrollment does not exist for them.
    client.post("/auth/logout")
    login(make_user("client"))
    assert client.post(f"/enrollments/{enrollment.id}/seats/2", data=data).status_code == 404
    assert client.get(f"/enrollments/{enrollment.id}").status_code == 404
    client.post("/auth/logout")
    login(booker)
    # A position the enrollment does not have.
    response = client.post(
        f"/enrollments/{enrollment.id}/seats/9", data={"seat9-name": "X", "seat9-email": "x@a.nl"}
    )
    assert response.status_code == 400
    assert "Deze plaats hoort niet bij uw inschrijving." in response.get_data(as_text=True)
    # The training has started.
    session = edition.sessions[0]
    session.starts_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    response = client.post(f"/enrollments/{enrollment.id}/seats/2", data=data)
    assert response.status_code == 400
    assert "De training is begonnen" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment.id).active_seats[1].email == "anna@gemeente.nl"


@pytest.mark.parametrize(
    ("seats", "colleagues", "message"),
    [
        (2, COLLEAGUES, "Vul niet meer namen in dan het aantal plaatsen (2)."),
        (3, [("Anna", "anna@gemeente.nl"), ("Anna B", "anna@gemeente.nl")], "twee keer"),
        (3, [("Anna", "")], "Vul naam en e-mailadres van de deelnemer in."),
        (11, COLLEAGUES, "Kies tussen 1 en 10 plaatsen."),
    ],
)
def test_bad_group_enrollments_are_refused_in_dutch_and_change_nothing(
    client, make_edition, make_user, login, billing_form, seats, colleagues, message
):
    edition = make_edition(capacity=12, days=1)
    login(make_user("client", email="griffie@gemeente.nl"))
    data = _group_form(billing_form, seats=seats, colleagues=colleagues)
    response = client.post(f"/editions/{edition.id}/enroll", data=data)
    assert response.status_code == 400, response.status_code
    assert message in response.get_data(as_text=True)
    assert (_count(Enrollment), _count(EnrollmentSeat), _count(Invoice)) == (0, 0, 0)
    assert seats_taken(edition) == 0


def test_group_larger_than_the_free_seats_is_refused(
    client, make_edition, make_user, login, billing_form
):
    edition = make_edition(capacity=2, days=1)
    login(make_user("client", email="griffie@gemeente.nl"))
    response = client.post(
        f"/editions/{edition.id}/enroll", data=_group_form(billing_form, seats=3)
    )
    assert response.status_code == 409
    assert "niet genoeg plaatsen vrij voor 3 deelnemers" in response.get_data(as_text=True)
    assert (_count(Enrollment), _count(EnrollmentSeat)) == (0, 0)
    assert seats_taken(edition) == 0


def test_a_single_enrollment_stays_the_booker_alone(make_enrollment, make_edition):
    edition = make_edition(days=1)
    enrollment = make_enrollment(edition)
    assert not enrollment.is_group
    people = session_participants(edition.sessions[0], include_trainer=False)
    assert [p.key for p in people] == [f"enrollment:{enrollment.id}"]


def test_a_group_from_the_waiting_list_gets_open_seats_to_name(make_edition, make_user, billing):
    from bbtraining.bookings.enrollment import waitlist

    edition = make_edition(capacity=3, days=1)
    booker = make_user("client", email="griffie@gemeente.nl")
    entry = waitlist.join_waitlist(edition, booker, seats=3, any_edition=False, note=None)
    db.session.commit()
    assert entry.status == "offered"
    enrollment = waitlist.accept_offer(entry, booker, billing, "invoice")
    db.session.commit()
    assert enrollment.is_group and [s.email for s in enrollment.active_seats] == [None] * 3
    assert session_participants(edition.sessions[0], include_trainer=False) == []
    named_seats.name_seat(
        enrollment, 1, named_seats.seat_holder("Greet", "griffie@gemeente.nl"), by=booker
    )
    db.session.commit()
    people = session_participants(edition.sessions[0], include_trainer=False)
    assert [(p.email, p.user_id) for p in people] == [("griffie@gemeente.nl", booker.id)]


def test_service_refuses_a_group_without_names_list_for_many_seats(
    make_edition, make_user, billing
):
    edition = make_edition(capacity=5, days=1)
    with pytest.raises(DomainError):
        enrolling.enroll(edition, make_user(), billing, "invoice", seats=3)
    db.session.rollback()
    assert seats_taken(edition) == 0


# -- giving back one seat -----------------------------------------------------------------------
def test_cancelling_one_seat_credits_it_cancels_the_invite_and_offers_it_to_the_waiting_list(
    client, make_edition, make_user, login, billing_form
):
    from bbtraining.bookings.enrollment import waitlist

    edition = make_edition(capacity=3, days=1)
    booker = make_user("client", email="griffie@gemeente.nl", name="Greet Griffier")
    waiting = make_user("facilitator", email="wachter@example.nl")
    login(booker)
    client.post(f"/editions/{edition.id}/enroll", data=_group_form(billing_form, seats=3))
    entry = waitlist.join_waitlist(edition, waiting, seats=1, any_edition=False, note=None)
    db.session.commit()
    assert entry.status == "waiting"
    enrollment = db.session.scalar(select(Enrollment))
    original = enrollment.invoice

    response = client.post(f"/enrollments/{enrollment.id}/seats/2/cancel")
    assert response.status_code == 302
    db.session.expire_all()
    enrollment = db.session.get(Enrollment, enrollment.id)
    assert enrollment.seats == 2 and enrollment.status == "confirmed"
    assert [s.email for s in enrollment.active_seats] == [
        "griffie@gemeente.nl",
        "bram@gemeente.nl",
    ]
    # Anna's invite is withdrawn; the freed seat is offered to the first in line.
    assert [m.calendar_method for m in _invites("anna@gemeente.nl")] == ["REQUEST", "CANCEL"]
    assert db.session.get(type(entry), entry.id).status == "offered"
    assert seats_taken(edition) == 3  # two held by the group, one reserved by the offer
    # One credit invoice for one seat, with Anna's name; the original stays to be paid.
    [credit] = db.session.scalars(select(Invoice).where(Invoice.credit_for_id == original.id))
    assert [(line.quantity, line.description) for line in credit.lines] == [
        (-1, f"{enrollment.line_title}: Anna Bakker")
    ]
    assert credit.total == -(original.total / 3)
    assert db.session.get(Invoice, original.id).status == "open"
    page = client.get(f"/enrollments/{enrollment.id}").get_data(as_text=True)
    assert credit.number in page

    # Cancelling the rest later credits only the two seats still held.
    from bbtraining.bookings.enrollment import cancellation

    cancellation.cancel_enrollment(enrollment, by=booker, as_participant=True)
    db.session.commit()
    credits = db.session.scalars(select(Invoice).where(Invoice.credit_for_id == original.id))
    assert sum(c.total for c in credits) == -original.total
    assert db.session.get(Invoice, original.id).status == "credited"


def test_a_seat_cannot_be_given_back_late_or_when_it_is_the_last(
    client, make_edition, make_user, login, billing_form
):
    edition = make_edition(capacity=5, days=1, start_in_days=30)
    login(make_user("client", email="griffie@gemeente.nl"))
    data = _group_form(billing_form, seats=1, myself=False, colleagues=COLLEAGUES[:1])
    client.post(f"/editions/{edition.id}/enroll", data=data)
    single = db.session.scalar(select(Enrollment))
    response = client.post(f"/enrollments/{single.id}/seats/1/cancel", follow_redirects=True)
    assert "Dit is de laatste plaats van uw inschrijving" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Enrollment, single.id).seats == 1

    late = make_edition(capacity=5, days=1, start_in_days=2)  # inside the free-cancel window
    client.post(f"/editions/{late.id}/enroll", data=_group_form(billing_form, seats=3))
    group = db.session.scalar(select(Enrollment).where(Enrollment.edition_id == late.id))
    before = (_count(Invoice), _count(OutboxMessage), seats_taken(late))
    response = client.post(f"/enrollments/{group.id}/seats/2/cancel", follow_redirects=True)
    assert "Kosteloos annuleren kon tot" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (_count(Invoice), _count(OutboxMessage), seats_taken(late)) == before
    assert db.session.get(Enrollment, group.id).seats == 3


def test_staff_see_who_sits_in_a_groups_seats(client, make_edition, make_user, login, billing_form):
    edition = make_edition(capacity=5, days=1)
    login(make_user("client", email="griffie@gemeente.nl", name="Greet Griffier"))
    client.post(f"/editions/{edition.id}/enroll", data=_group_form(billing_form, seats=4))
    client.post("/auth/logout")
    login(make_user("admin"))
    page = client.get(f"/admin/editions/{edition.id}/enrollments").get_data(as_text=True)
    assert "Greet Griffier, Anna Bakker, Bram Claes, nog niet ingevuld" in page


def test_each_colleague_gets_the_reminders_and_the_booker_who_stays_home_none(
    client, make_edition, make_user, login, billing_form
):
    from bbtraining.bookings.sessions.tasks import send_due_reminders

    edition = make_edition(capacity=5, days=1, start_in_days=10)
    login(make_user("client", email="griffie@gemeente.nl"))
    data = _group_form(billing_form, seats=2, myself=False)
    assert client.post(f"/editions/{edition.id}/enroll", data=data).status_code == 302
    start = edition.sessions[0].starts_at
    assert send_due_reminders(start - timedelta(days=7) + timedelta(minutes=1)) == 2
    db.session.commit()
    for _name, email in COLLEAGUES:
        [reminder] = [m for m in outbox_to(email) if m.subject.startswith("Herinnering")]
        assert reminder.dedupe_key.startswith(f"reminder:session:{edition.sessions[0].id}:seat:")
    assert not [m for m in outbox_to("griffie@gemeente.nl") if "Herinnering" in m.subject]


def test_a_colleague_who_holds_a_seat_cannot_enroll_again_themselves(
    client, make_edition, make_user, login, billing_form
):
    edition = make_edition(capacity=5, days=1)
    login(make_user("client", email="griffie@gemeente.nl"))
    client.post(f"/editions/{edition.id}/enroll", data=_group_form(billing_form, seats=3))
    client.post("/auth/logout")
    login(make_user("facilitator", email="anna@gemeente.nl"))
    before = (_count(Enrollment), seats_taken(edition))
    response = client.post(f"/editions/{edition.id}/enroll", data=billing_form())
    assert response.status_code == 400
    assert "anna@gemeente.nl neemt al deel aan deze editie." in response.get_data(as_text=True)
    assert (_count(Enrollment), seats_taken(edition)) == before


def test_a_credited_seat_is_no_longer_open_and_the_rest_pays_the_invoice(
    client, make_edition, make_user, login, billing_form
):
    from decimal import Decimal

    from bbtraining.bookings.billing import receivables

    edition = make_edition(capacity=3, days=1)
    booker = make_user("client", email="griffie@gemeente.nl", name="Greet Griffier")
    staff = make_user("admin", email="staf@example.nl")
    login(booker)
    client.post(f"/editions/{edition.id}/enroll", data=_group_form(billing_form, seats=3))
    enrollment = db.session.scalar(select(Enrollment))
    original_id, total = enrollment.invoice.id, enrollment.invoice.total
    assert client.post(f"/enrollments/{enrollment.id}/seats/2/cancel").status_code == 302
    db.session.expire_all()
    original = db.session.get(Invoice, original_id)
    one_seat = total / 3
    assert original.amount_credited == one_seat
    assert original.open_amount == total - one_seat
    [item] = receivables.receivables()
    assert item.invoice.id == original_id and item.invoice.open_amount == total - one_seat
    # More than what is open is refused; the rest settles the invoice.
    too_much = total - one_seat + Decimal("0.01")
    with pytest.raises(DomainError):
        receivables.check_payment(original, too_much, receivables.today())
    receivables.register_payment(original, total - one_seat, receivables.today(), by=staff)
    db.session.commit()
    original = db.session.get(Invoice, original_id)
    assert original.status == "paid" and original.amount_paid == total - one_seat
    assert receivables.receivables() == []
