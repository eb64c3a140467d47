from icalendar import Calendar

from bbtraining.bookings.enrollment.cancellation import cancel_enrollment
from bbtraining.bookings.enrollment.participation import enrolled_sessions
from bbtraining.bookings.sessions.participants import sessions_for_user
from bbtraining.extensions import db


def test_confirmed_enrollment_puts_sessions_in_the_personal_feed(
    client, make_user, make_edition, make_enrollment
):
    person = make_user("facilitator")
    edition = make_edition(days=2)
    assert sessions_for_user(person) == []
    enrollment = make_enrollment(edition=edition, user=person)
    assert [s.id for s in enrolled_sessions(person)] == [s.id for s in edition.sessions]
    feed = client.get(f"/calendar/{person.calendar_token}.ics")
    assert feed.status_code == 200
    events = Calendar.from_ical(feed.data).events
    assert {e["DTSTART"].dt for e in events} == {s.starts_at for s in edition.sessions}

    cancel_enrollment(enrollment, by=person, reason="Verhinderd")
    db.session.commit()
    assert enrolled_sessions(person) == []
