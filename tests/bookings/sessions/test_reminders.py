"""Reminders: once per (session, attendee, kind), on time, never for a moment before joining."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bbtraining.bookings.sessions import reminders
from bbtraining.bookings.sessions import tasks as reminder_tasks
from bbtraining.bookings.sessions.participants import Participant
from bbtraining.bookings.sessions.reminders import DueReminder, SentReminder, collect_due_reminders
from bbtraining.bookings.sessions.tasks import send_due_reminders, send_in_batches
from bbtraining.extensions import db
from bbtraining.notifications.models import OutboxMessage
from bbtraining.notifications.services import queue_mail
from tests.bookings.plain_providers import registered_participants
from tests.conftest import outbox_to

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def attendees():
    yield from registered_participants()


@pytest.fixture
def session_at(make_edition):
    """One session starting in ten days (a whole hour, UTC), led by `trainer`."""

    def factory(trainer=None, **fields):
        edition = make_edition(days=1, start_in_days=10, trainer=trainer, **fields)
        return edition.sessions[0]

    return factory


def person(n: int, joined_at=None, **fields) -> Participant:
    values = {
        "key": f"enrollment:{n}",
        "email": f"deelnemer{n}@example.nl",
        "name": f"Deelnemer {n}",
        "joined_at": joined_at or datetime(2020, 1, 1, tzinfo=UTC),
    }
    return Participant(**{**values, **fields})


def reminder_rows(email: str) -> list[OutboxMessage]:
    return [row for row in outbox_to(email) if (row.dedupe_key or "").startswith("reminder:")]


def kinds(email: str) -> list[str]:
    """The reminder kinds that went to this address, without the session start."""
    return [row.dedupe_key.rsplit(":", 1)[1].split("@")[0] for row in reminder_rows(email)]


def stamp(session) -> str:
    return f"{session.starts_at:%Y%m%dT%H%MZ}"


def test_seven_days_and_one_day_before_each_once(session_at, make_user, attendees):
    trainer = make_user("trainer", email="trainer@example.nl", name="Tineke Trainer")
    session = session_at(trainer=trainer)
    attendees.add(person(1))
    attendees.add(person(2, name="Bram de Boer"))
    start = session.starts_at

    assert send_due_reminders(start - 7 * DAY - MINUTE) == 0  # not yet
    assert send_due_reminders(start - 7 * DAY + MINUTE) == 2
    assert send_due_reminders(start - 7 * DAY + 2 * MINUTE) == 0  # a later sweep: nothing again
    [week] = reminder_rows("deelnemer1@example.nl")
    assert week.dedupe_key == (
        f"reminder:session:{session.id}:enrollment:1:before-168h@{stamp(session)}"
    )
    assert week.subject == f"Herinnering: {session.course.title}"
    assert "Een herinnering: u neemt binnenkort deel aan deze sessie." in week.text_body
    assert "Utrecht" in week.text_body and "Tineke Trainer" in week.text_body
    assert reminder_rows("trainer@example.nl") == []  # the list comes the day before

    assert send_due_reminders(start - DAY + MINUTE) == 3  # two participants and the trainer
    assert send_due_reminders(start - DAY + 5 * MINUTE) == 0
    assert kinds("deelnemer1@example.nl") == ["before-168h", "before-24h"]
    [attendance] = reminder_rows("trainer@example.nl")
    assert attendance.subject == f"Deelnemerslijst: {session.course.title}"
    assert "Aangemeld: 2" in attendance.text_body
    assert "1. Bram de Boer" in attendance.text_body
    assert "2. Deelnemer 1" in attendance.text_body
    # The trainer is not reminded as if they were a participant.
    assert (
        db.session.scalar(
            select(func.count(SentReminder.id)).where(
                SentReminder.attendee_key == f"trainer:{trainer.id}"
            )
        )
        == 1
    )


def test_late_enrollee_does_not_get_a_past_reminder(session_at, attendees):
    session = session_at()
    start = session.starts_at
    attendees.add(person(1, joined_at=start - 20 * DAY))
    attendees.add(person(2, joined_at=start - 3 * DAY))  # joined after the 7-day moment

    send_due_reminders(start - 2 * DAY)
    assert len(reminder_rows("deelnemer1@example.nl")) == 1
    assert reminder_rows("deelnemer2@example.nl") == []

    send_due_reminders(start - DAY + MINUTE)
    assert len(reminder_rows("deelnemer1@example.nl")) == 2
    [late] = reminder_rows("deelnemer2@example.nl")
    assert late.dedupe_key.endswith(f":before-24h@{stamp(session)}")


def test_joined_after_the_last_moment_gets_nothing(session_at, attendees):
    session = session_at()
    attendees.add(person(1, joined_at=session.starts_at - timedelta(hours=3)))
    assert send_due_reminders(session.starts_at - timedelta(hours=2)) == 0
    assert reminder_rows("deelnemer1@example.nl") == []


def test_missed_moment_is_superseded_by_the_later_one(session_at, attendees):
    """A sweep that comes back after the worker was down sends only the reminder that still
    fits: not "in a week" and "tomorrow" on the same day."""
    session = session_at()
    attendees.add(person(1))
    send_due_reminders(session.starts_at - timedelta(hours=12))
    [only] = reminder_rows("deelnemer1@example.nl")
    assert kinds("deelnemer1@example.nl") == ["before-24h"]


def test_hours_are_configurable_per_course_kind(app, session_at, make_course, attendees):
    short = session_at(course=make_course(kind="inspiratiesessie"))
    default = session_at()
    attendees.add(person(1))
    app.config["REMINDER_HOURS_BEFORE"] = {"default": (168, 24), "inspiratiesessie": (48,)}
    try:
        send_due_reminders(short.starts_at - 6 * DAY)
        rows = reminder_rows("deelnemer1@example.nl")
        assert [r.dedupe_key for r in rows] == [
            f"reminder:session:{default.id}:enrollment:1:before-168h@{stamp(default)}"
        ]
        send_due_reminders(short.starts_at - timedelta(hours=47))
        rows = reminder_rows("deelnemer1@example.nl")
        assert rows[-1].dedupe_key == (
            f"reminder:session:{short.id}:enrollment:1:before-48h@{stamp(short)}"
        )
        send_due_reminders(short.starts_at - timedelta(hours=23))
        assert kinds("deelnemer1@example.nl") == [
            "before-168h",
            "before-48h",
            "before-24h",  # the default session's; the inspiratiesessie has no 24 h reminder
        ]
        assert reminder_rows("deelnemer1@example.nl")[-1].dedupe_key.startswith(
            f"reminder:session:{default.id}:"
        )
    finally:
        app.config["REMINDER_HOURS_BEFORE"] = {"default": (168, 24)}


def test_moved_session_is_reminded_again_other_changes_are_not(session_at, attendees):
    session = session_at()
    attendees.add(person(1))
    old_start = session.starts_at
    assert send_due_reminders(old_start - DAY + MINUTE) == 1

    session.change_details(note="Andere zaal")  # same time: no second reminder
    db.session.commit()
    assert send_due_reminders(old_start - DAY + 2 * MINUTE) == 0

    session.reschedule(old_start + 3 * DAY, session.ends_at + 3 * DAY, note="Drie dagen later")
    db.session.commit()
    # Now four days ahead: the 7-day reminder for the new time is due, the 1-day one later.
    assert send_due_reminders(old_start - DAY + 3 * MINUTE) == 1
    assert send_due_reminders(old_start - DAY + 4 * MINUTE) == 0
    assert send_due_reminders(session.starts_at - DAY + MINUTE) == 1
    assert kinds("deelnemer1@example.nl") == ["before-24h", "before-168h", "before-24h"]
    assert reminder_rows("deelnemer1@example.nl")[-1].dedupe_key.endswith(stamp(session))


def test_no_reminders_for_cancelled_or_started_sessions(session_at, make_user, attendees):
    trainer = make_user("trainer")
    cancelled = session_at(trainer=trainer)
    cancelled.cancel(note="Gaat niet door")
    db.session.commit()
    attendees.add(person(1))
    assert send_due_reminders(cancelled.starts_at - DAY + MINUTE) == 0
    assert send_due_reminders(cancelled.starts_at + MINUTE) == 0
    assert reminder_rows("deelnemer1@example.nl") == []


def test_concurrent_sweeps_send_each_reminder_once(app, session_at, make_user, attendees):
    """Two sweeps (a second beat, a slow run overlapping the next) both see every reminder as
    due; the UNIQUE claim lets exactly one of them send each. Real threads, own app contexts,
    own connections: on SQLite and on PostgreSQL."""
    sessions = [session_at(trainer=make_user("trainer")) for _ in range(3)]
    for n in range(25):
        attendees.add(person(n))
    now = sessions[0].starts_at - DAY + MINUTE
    expected = 3 * 25 + 3  # participants and the three trainers' lists
    barrier = threading.Barrier(2)
    results: dict[str, tuple[int, int]] = {}
    errors: list[BaseException] = []

    def sweep(name: str) -> None:
        try:
            with app.app_context():
                due = collect_due_reminders(now)
                barrier.wait(timeout=30)  # both have seen everything as unsent
                results[name] = (len(due), send_in_batches(due, batch_size=20))
        except BaseException as exc:  # surfaces in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert results["a"][0] == results["b"][0] == expected
    assert results["a"][1] + results["b"][1] == expected

    db.session.expire_all()
    keys = list(
        db.session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("reminder:%"))
        )
    )
    assert len(keys) == len(set(keys)) == expected
    assert db.session.scalar(select(func.count(SentReminder.id))) == expected
    assert send_due_reminders(now) == 0


def test_outbox_conflict_skips_only_that_reminder(session_at, attendees):
    """If a reminder's mail is already in the outbox (its claim row gone), the IntegrityError
    skips that one and the rest of the batch still goes out."""
    session = session_at()
    for n in (1, 2, 3):
        attendees.add(person(n))
    queue_mail(
        to="deelnemer2@example.nl",
        subject="eerder",
        template="bookings/reminder_session",
        context={"session": session, "name": "x", "hours": 24},
        dedupe_key=f"reminder:session:{session.id}:enrollment:2:before-24h@{stamp(session)}",
    )
    db.session.commit()
    assert send_due_reminders(session.starts_at - timedelta(hours=2)) == 2
    assert len(reminder_rows("deelnemer1@example.nl")) == 1
    assert len(reminder_rows("deelnemer2@example.nl")) == 1
    assert len(reminder_rows("deelnemer3@example.nl")) == 1


def test_registered_source_is_sent_once_with_its_own_rules(session_at):
    """The hook the enrollment code uses for waiting-list offers and pending payments."""
    now = datetime.now(UTC)
    context = {"session": session_at(), "hours": 12}
    offer = DueReminder(
        subject="offer:41",
        attendee_key="enrollment:7",
        kind="offer-expires-12h",
        due_at=now - MINUTE,
        email="wachtlijst@example.nl",
        name="Wil Wachter",
        mail_subject="Uw plek verloopt bijna",
        template="bookings/reminder_session",
        context=context,
    )
    late = DueReminder(
        subject="invoice:9",
        attendee_key="enrollment:8",
        kind="payment-due-3d",
        due_at=now - DAY,
        email="laat@example.nl",
        name="Laat",
        mail_subject="Betaling",
        template="bookings/reminder_session",
        context=context,
        joined_at=now - timedelta(hours=1),  # joined after the moment: not sent
    )
    future = DueReminder(
        subject="invoice:10",
        attendee_key="enrollment:9",
        kind="payment-due-1d",
        due_at=now + DAY,
        email="later@example.nl",
        name="Later",
        mail_subject="Betaling",
        template="bookings/reminder_session",
        context=context,
    )

    def source(at):
        return [offer, late, future]

    reminders.register_reminder_source(source)
    try:
        assert send_due_reminders(now) == 1
        assert send_due_reminders(now) == 0
    finally:
        reminders._sources.remove(source)
    [row] = outbox_to("wachtlijst@example.nl")
    assert row.subject == "Uw plek verloopt bijna"
    assert row.dedupe_key == "reminder:offer:41:enrollment:7:offer-expires-12h"
    assert outbox_to("laat@example.nl") == [] and outbox_to("later@example.nl") == []


def test_beat_runs_the_sweep_every_few_minutes(session_at, attendees):
    schedule = reminder_tasks.BEAT_SCHEDULE["bookings-reminders"]
    assert schedule["task"] == "bookings.send_reminders"
    assert schedule["schedule"] <= 600
    session = session_at()
    session.starts_at = datetime.now(UTC) + timedelta(hours=5)
    session.ends_at = session.starts_at + timedelta(hours=3)
    db.session.commit()
    attendees.add(person(1))
    assert reminder_tasks.send_reminders() == 1  # the task body, run here like the worker does
    assert reminder_tasks.send_reminders() == 0
