from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bbtraining.bookings.sessions import participants
from bbtraining.bookings.sessions.invites import CalendarInvite, sync_edition_invites
from bbtraining.extensions import db
from bbtraining.notifications.mail import build_message
from tests.conftest import outbox_to


@pytest.fixture
def attendees():
    """A provider holding a plain list, standing in for enrollments in these mechanism tests."""
    people: list[participants.Participant] = []

    def provider(session):
        return list(people)

    participants.register_provider(provider)
    yield people
    participants._providers.remove(provider)


def _calendar(row):
    msg = build_message(row)
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == row.calendar_method
    cal = Calendar.from_ical(part.get_content())
    assert str(cal["METHOD"]) == row.calendar_method
    [event] = cal.events
    attachment = [p for p in msg.iter_attachments() if p.get_filename() == "uitnodiging.ics"]
    assert len(attachment) == 1
    return event


def test_invite_update_cancel_keep_uid_and_raise_sequence(make_edition, make_user, attendees):
    trainer = make_user("trainer", email="trainer@example.nl")
    edition = make_edition(days=2, trainer=trainer)
    attendees.append(participants.Participant(key="p:1", email="eva@example.nl", name="Eva"))
    sync_edition_invites(edition)
    db.session.commit()
    mails = outbox_to("eva@example.nl")
    assert len(mails) == 2  # one event per session of a two-day edition
    assert len(outbox_to("trainer@example.nl")) == 2
    first = _calendar(mails[0])
    uid = str(first["UID"])
    assert first["SEQUENCE"] == 0
    assert str(first["DTSTART"].dt.tzinfo) == "Europe/Amsterdam"
    assert first["DTSTART"].dt == edition.sessions[0].starts_at

    # Syncing again changes nothing: no duplicate invites.
    sync_edition_invites(edition)
    db.session.commit()
    assert len(outbox_to("eva@example.nl")) == 2

    session = edition.sessions[0]
    session.reschedule(
        session.starts_at + timedelta(hours=1),
        session.ends_at + timedelta(hours=1),
        note="Een uur later",
    )
    db.session.commit()
    update = _calendar(outbox_to("eva@example.nl")[-1])
    assert str(update["UID"]) == uid and update["SEQUENCE"] == 1
    assert update["DTSTART"].dt == session.starts_at

    attendees.clear()
    sync_edition_invites(edition)
    db.session.commit()
    cancel_rows = outbox_to("eva@example.nl")[-2:]
    assert {r.calendar_method for r in cancel_rows} == {"CANCEL"}
    cancelled = _calendar(next(r for r in cancel_rows if uid in r.calendar_ics))
    assert str(cancelled["STATUS"]) == "CANCELLED" and cancelled["SEQUENCE"] == 2
    invites = db.session.scalars(
        select(CalendarInvite).where(CalendarInvite.attendee_key == "p:1")
    ).all()
    assert {i.status for i in invites} == {"cancelled"}


def test_cancelled_session_cancels_everyone(make_edition, make_user, attendees):
    edition = make_edition(days=1, trainer=make_user("trainer", email="t@example.nl"))
    attendees.append(participants.Participant(key="p:1", email="eva@example.nl", name="Eva"))
    sync_edition_invites(edition)
    edition.sessions[0].cancel(note="Ziekte trainer")
    db.session.commit()
    for email in ("eva@example.nl", "t@example.nl"):
        last = outbox_to(email)[-1]
        assert last.calendar_method == "CANCEL"
        assert "Ziekte trainer" in last.text_body
