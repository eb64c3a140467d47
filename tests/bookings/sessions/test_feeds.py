"""Personal calendar feeds: /calendar/<token>.ics, no login, the token is the secret."""

import logging
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bbtraining.bookings.sessions.feeds import feed_uid
from bbtraining.bookings.sessions.invites import CalendarInvite, sync_edition_invites
from bbtraining.bookings.sessions.participants import Participant
from bbtraining.extensions import db
from tests.bookings.plain_providers import registered_participants, registered_sessions


@pytest.fixture
def attendees():
    yield from registered_participants()


@pytest.fixture
def my_sessions():
    yield from registered_sessions()


def fetch(client, user) -> Calendar:
    response = client.get(f"/calendar/{user.calendar_token}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.data)
    assert "METHOD" not in calendar  # a published feed, not an invitation
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/Amsterdam"
    return calendar


def events_by_start(calendar: Calendar):
    return sorted(calendar.events, key=lambda e: e["DTSTART"].dt)


def test_participant_feed_lists_their_sessions_without_login(
    client, make_user, make_edition, my_sessions
):
    eva = make_user(email="eva@example.nl")
    edition = make_edition(days=2)
    other = make_edition(days=1)  # not Eva's
    my_sessions.by_user[eva.id] = list(edition.sessions)

    calendar = fetch(client, eva)
    events = events_by_start(calendar)
    assert len(events) == 2
    for event, session in zip(events, edition.sessions, strict=True):
        assert event["DTSTART"].dt == session.starts_at
        assert str(event["DTSTART"].dt.tzinfo) == "Europe/Amsterdam"
        assert event["DTEND"].dt == session.ends_at
        assert str(event["SUMMARY"]) == edition.course.title
        assert str(event["LOCATION"]) == "Utrecht"
        assert str(event["STATUS"]) == "CONFIRMED"
        assert str(event["UID"]) == feed_uid(session.id, eva.id)
        assert "ORGANIZER" not in event and "ATTENDEE" not in event
    assert other.course.title not in [str(e["SUMMARY"]) for e in events]
    # The same UIDs on every fetch: calendar apps update events instead of duplicating them.
    assert [str(e["UID"]) for e in events_by_start(fetch(client, eva))] == [
        str(e["UID"]) for e in events
    ]


def test_feed_reuses_the_uid_of_the_mailed_invite(
    client, make_user, make_edition, attendees, my_sessions
):
    eva = make_user(email="eva@example.nl", name="Eva")
    edition = make_edition(days=1)
    attendees.add(Participant(key="enrollment:1", email="Eva@Example.nl", name="Eva"))
    sync_edition_invites(edition)
    db.session.commit()
    invite = db.session.scalar(select(CalendarInvite))
    my_sessions.by_user[eva.id] = list(edition.sessions)
    [event] = fetch(client, eva).events
    assert str(event["UID"]) == invite.uid
    assert event["SEQUENCE"] == invite.sequence


def test_trainer_feed_has_the_sessions_they_lead(client, make_user, make_edition):
    trainer = make_user("trainer", email="trainer@example.nl")
    led = make_edition(days=2, trainer=trainer)
    co_led = make_edition(days=1)
    co_led.trainers.append(trainer)  # a trainer of the edition, not of the session itself
    make_edition(days=1)  # someone else's
    db.session.commit()
    sync_edition_invites(led)
    db.session.commit()
    invites = {
        i.session_id: i.uid
        for i in db.session.scalars(
            select(CalendarInvite).where(CalendarInvite.attendee_key == f"trainer:{trainer.id}")
        )
    }
    events = events_by_start(fetch(client, trainer))
    assert len(events) == 3
    sessions = sorted([*led.sessions, *co_led.sessions], key=lambda s: s.starts_at)
    for event, session in zip(events, sessions, strict=True):
        assert str(event["UID"]) == invites.get(session.id, feed_uid(session.id, trainer.id))


def test_moved_and_cancelled_sessions(client, make_user, make_edition, my_sessions):
    eva = make_user()
    edition = make_edition(days=2)
    my_sessions.by_user[eva.id] = list(edition.sessions)
    first, second = edition.sessions
    before = {str(e["UID"]): e for e in fetch(client, eva).events}
    first.reschedule(first.starts_at + timedelta(hours=2), first.ends_at + timedelta(hours=2))
    second.cancel(note="Zaal niet beschikbaar")
    db.session.commit()
    after = {str(e["UID"]): e for e in fetch(client, eva).events}
    assert after.keys() == before.keys()
    moved = after[feed_uid(first.id, eva.id)]
    assert moved["DTSTART"].dt == first.starts_at
    assert moved["SEQUENCE"] > before[feed_uid(first.id, eva.id)]["SEQUENCE"]
    cancelled = after[feed_uid(second.id, eva.id)]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert "Zaal niet beschikbaar" in str(cancelled["DESCRIPTION"])


def test_unknown_token_is_404(client, make_user):
    make_user()
    for token in ("onbekend", "x" * 65, ""):
        response = client.get(f"/calendar/{token}.ics")
        assert response.status_code == 404
    # `public` is the catalog's feed of open editions (DESIGN.md), never someone's calendar.
    assert b"X-WR-CALNAME" in client.get("/calendar/public.ics").data


def test_inactive_account_has_no_feed(client, make_user):
    user = make_user()
    user.is_active_account = False
    db.session.commit()
    assert client.get(f"/calendar/{user.calendar_token}.ics").status_code == 404


def test_regenerated_token_replaces_the_old_link(client, make_user, login):
    user = make_user()
    old = user.calendar_token
    assert client.get(f"/calendar/{old}.ics").status_code == 200
    login(user)
    assert client.post("/account/calendar-token").status_code == 302
    db.session.refresh(user)
    assert user.calendar_token != old
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    assert client.get(f"/calendar/{user.calendar_token}.ics").status_code == 200


def test_token_stays_out_of_logs_and_referrers(client, make_user, caplog):
    user = make_user()
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/calendar/{user.calendar_token}.ics")
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "private" in response.headers["Cache-Control"]
    assert user.calendar_token not in caplog.text


def test_empty_feed_is_valid(client, make_user):
    calendar = Calendar.from_ical(client.get(f"/calendar/{make_user().calendar_token}.ics").data)
    assert calendar.events == []
