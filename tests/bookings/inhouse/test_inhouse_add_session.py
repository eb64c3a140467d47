"""Staff add a further session to an accepted inhouse booking: a new invitation (new UID) for
the trainer, the client contact and the participants; the portal and the timeline show it."""

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.bookings.inhouse import cancellation, participants
from bbtraining.bookings.inhouse.models import InhouseBooking
from bbtraining.bookings.sessions.groups import session_group
from bbtraining.courses.models import TrainingSession
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from tests.conftest import outbox_to


def event(row):
    assert row.calendar_method == "REQUEST"
    return Calendar.from_ical(row.calendar_ics).events[0]


def invites(email: str) -> list:
    return [m for m in outbox_to(email) if m.calendar_ics]


def form(day, **changes) -> dict:
    return {
        "day": day.isoformat(),
        "start": "10:00",
        "end": "12:00",
        "location": "Raadzaal, Stadhuis Utrecht",
        "note": "Vervolg op de eerste sessie",
        "price": "1450",
        **changes,
    }


def counts():
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count(TrainingSession.id))),
        db.session.scalar(select(func.count(OutboxMessage.id))),
        db.session.scalar(select(func.count(AuditEntry.id))),
    )


@pytest.fixture
def scheduled(inhouse):
    booking = inhouse.scheduled()
    participants.add_participant(
        booking, by=booking.requested_by, name="Ria Raadslid", email="ria@example.nl"
    )
    db.session.commit()
    return booking


def test_staff_add_a_session_and_everyone_is_invited(inhouse, scheduled, client, login):
    booking = scheduled
    [first] = booking.sessions
    people = (booking.contact_email, "ria@example.nl", inhouse.trainer.email)
    before = {email: len(invites(email)) for email in people}
    old_uids = {str(event(m)["UID"]) for email in people for m in invites(email)}
    assert all(before.values()) and len(old_uids) == 3

    login(inhouse.staff)
    url = f"/admin/inhouse/{booking.id}/sessions/new"
    page = client.get(url)
    assert page.status_code == 200
    assert "Sessie toevoegen" in page.text and "Stadhuis Utrecht" in page.text  # prefilled
    day = first.local_start.date() + timedelta(days=14)
    response = client.post(url, data=form(day, trainer_id=str(inhouse.trainer.id)))
    assert response.status_code == 302

    db.session.expire_all()
    booking = db.session.get(InhouseBooking, booking.id)
    assert booking.status == "scheduled"
    added = booking.sessions[-1]
    assert len(booking.sessions) == 2 and added.id != first.id
    assert added.local_start.date() == day and added.local_start.strftime("%H:%M") == "10:00"
    assert (added.location, added.trainer_id) == ("Raadzaal, Stadhuis Utrecht", inhouse.trainer.id)

    new_uids = set()
    for email in people:
        mails = invites(email)
        assert len(mails) == before[email] + 1, email  # one new invitation, nothing else
        invitation = mails[-1]
        assert invitation.subject.startswith("Uitnodiging:")
        ics = event(invitation)
        assert str(ics["UID"]) not in old_uids
        assert ics["SEQUENCE"] == 0
        assert ics["DTSTART"].dt == added.starts_at
        assert str(ics["LOCATION"]) == "Raadzaal, Stadhuis Utrecht"
        new_uids.add(str(ics["UID"]))
    assert len(new_uids) == 3  # one UID per person and session

    # It belongs to the booking: one group for attendance, completion and evaluation.
    assert session_group(added).key == f"inhouse:{booking.id}"
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "inhouse.session_added")
    )
    assert entry.object_id == booking.id and entry.actor_id == inhouse.staff.id

    # The client sees the session and the timeline line in their portal.
    login(booking.requested_by)
    portal = client.get(f"/account/inhouse/{booking.id}").text
    assert "Sessie toegevoegd" in portal
    assert "Raadzaal, Stadhuis Utrecht" in portal
    assert "Vervolg op de eerste sessie" in portal


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("cancelled", "Deze boeking is geannuleerd; er kan geen sessie meer bij."),
        ("invoiced", "Deze boeking is al gefactureerd; er kan geen sessie meer bij."),
        ("delivered", "Deze boeking is al gegeven; er kan geen sessie meer bij."),
        ("submitted", "Sessies komen er pas bij als de klant het voorstel heeft geaccepteerd"),
    ],
)
def test_adding_is_refused_in_dutch_outside_an_accepted_booking(
    inhouse, client, login, state, message
):
    if state == "cancelled":
        booking = inhouse.scheduled()
        cancellation.cancel_booking(booking, by=inhouse.staff, reason="Raad gaat niet door")
        db.session.commit()
    elif state == "submitted":
        booking = inhouse.booking()
    else:
        booking = getattr(inhouse, state)()
    assert booking.status == state
    login(inhouse.staff)
    before = counts()
    day = booking.created_at.date() + timedelta(days=60)
    response = client.post(
        f"/admin/inhouse/{booking.id}/sessions/new",
        data=form(day, trainer_id=str(inhouse.trainer.id)),
    )
    assert response.status_code == 400
    assert message in response.text
    assert counts() == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"day": "2020-01-06"}, "moeten in de toekomst liggen"),
        ({"end": "09:00"}, "De eindtijd ligt na de begintijd."),
        ({"day": "2031-02-30"}, "Vul een geldige datum in."),
        ({"location": ""}, "Dit veld is verplicht."),
        ({"trainer_id": "0"}, "Kies een trainer."),
    ],
)
def test_bad_input_changes_nothing(inhouse, scheduled, client, login, changes, message):
    login(inhouse.staff)
    before = counts()
    day = scheduled.sessions[0].local_start.date() + timedelta(days=7)
    data = form(day, trainer_id=str(inhouse.trainer.id))
    response = client.post(f"/admin/inhouse/{scheduled.id}/sessions/new", data={**data, **changes})
    assert response.status_code == 400
    assert message in response.text
    assert counts() == before


def test_a_trainer_booked_elsewhere_is_refused(inhouse, scheduled, client, login):
    first = scheduled.sessions[0]
    login(inhouse.staff)
    before = counts()
    response = client.post(
        f"/admin/inhouse/{scheduled.id}/sessions/new",
        data=form(
            first.local_start.date(),
            start=first.local_start.strftime("%H:%M"),
            end=first.local_end.strftime("%H:%M"),
            trainer_id=str(inhouse.trainer.id),
        ),
    )
    assert response.status_code == 400
    assert "Joost Trainer is op" in response.text
    assert counts() == before
