"""Invites from the change to the mailbox: what the message looks like, and that it arrives
exactly once with a real worker, real Redis and a real SMTP server, even when Redis was down
while the change was made."""

import shutil
import subprocess
import time
from collections import defaultdict
from datetime import UTC, timedelta
from email import message_from_bytes, policy

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from bbtraining.bookings.sessions.invites import CalendarInvite, sync_edition_invites
from bbtraining.bookings.sessions.participants import Participant
from bbtraining.extensions import db
from bbtraining.notifications import services, tasks
from bbtraining.notifications.mail import build_message
from bbtraining.notifications.models import OutboxMessage, OutboxStatus, WorkerHeartbeat
from tests import factories
from tests.bookings.plain_providers import registered_participants
from tests.conftest import Worker, free_port, outbox_to, redis_available, require, service_env

pytestmark = pytest.mark.services


@pytest.fixture
def attendees():
    yield from registered_participants()


@pytest.fixture
def make_edition(make_course):
    """An open edition of `days` sessions in Utrecht, a month from now; `trainer` leads the
    sessions without being one of the edition's trainers."""

    def factory(days: int = 1, trainer=None):
        course = make_course(title="Gespreksbegeleiding in de praktijk")
        return factories.edition(course, factories.daily(days), session_trainer=trainer)

    return factory


def eva() -> Participant:
    return Participant(key="enrollment:1", email="eva@example.nl", name="Eva de Vries")


def calendar_parts(msg):
    """(the text/calendar alternative, the .ics attachment), checking the MIME structure."""
    assert msg.get_content_type() == "multipart/mixed"
    body, *attachments = msg.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in body.iter_parts()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    inline = list(body.iter_parts())[-1]
    assert inline.get_content_charset() == "utf-8"
    assert inline.get("Content-Disposition") is None  # an alternative, not an attachment
    [attachment] = attachments
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "uitnodiging.ics"
    assert attachment.get_content_disposition() == "attachment"
    return inline, attachment


def parse_invite(msg):
    inline, attachment = calendar_parts(msg)
    method = inline.get_param("method")
    calendar = Calendar.from_ical(inline.get_content())
    assert str(calendar["METHOD"]) == method  # Outlook needs the two to match
    assert Calendar.from_ical(attachment.get_content()).to_ical() == calendar.to_ical()
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/Amsterdam"
    assert {c.name for c in timezone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    [event] = calendar.events
    return method, event


def test_every_invite_parses_with_its_fields_through_update_and_cancel(
    app, make_edition, make_user, attendees
):
    trainer = make_user("trainer", email="trainer@example.nl", name="Tineke Trainer")
    edition = make_edition(days=2, trainer=trainer)
    first, second = edition.sessions
    attendees.add(eva())
    attendees.add(Participant(key="enrollment:2", email="bram@example.nl", name="Bram"))
    sync_edition_invites(edition)
    db.session.commit()
    first.reschedule(first.starts_at + timedelta(hours=1), first.ends_at + timedelta(hours=1))
    db.session.commit()
    attendees.everyone.pop()  # Bram leaves
    sync_edition_invites(edition)
    db.session.commit()
    second.cancel(note="De zaal is niet beschikbaar")
    db.session.commit()

    invites = {i.uid: i for i in db.session.scalars(select(CalendarInvite))}
    assert len(invites) == 6  # 2 sessions x (trainer, Eva, Bram), each its own UID
    history: dict[tuple[int, str], list[tuple[str, int, str]]] = defaultdict(list)
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    # 6 invites, 3 updates for the move, 2 cancels as Bram leaves, 2 as the session is cancelled
    assert len(rows) == 6 + 3 + 2 + 2
    for row in rows:
        method, event = parse_invite(build_message(row))
        assert method == row.calendar_method
        invite = invites[str(event["UID"])]
        assert invite.email == row.to_email
        assert str(event["DTSTART"].dt.tzinfo) == "Europe/Amsterdam"
        assert event["DTEND"].dt > event["DTSTART"].dt
        assert event["DTSTAMP"].to_ical().endswith(b"Z")  # DTSTAMP in UTC
        organizer = event["ORGANIZER"]
        assert str(organizer) == f"mailto:{app.config['STAFF_EMAIL']}"
        assert organizer.params["CN"] == app.config["ORGANISATION_NAME"]
        attendee = event["ATTENDEE"]
        assert str(attendee) == f"mailto:{row.to_email}"
        assert attendee.params["RSVP"] == "TRUE"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert str(event["LOCATION"]) == "Utrecht"
        assert str(event["SUMMARY"]) == edition.course.title
        assert "Trainer: Tineke Trainer" in str(event["DESCRIPTION"])
        history[(invite.session_id, row.to_email)].append(
            (method, event["SEQUENCE"], str(event["STATUS"]))
        )
        if method == "REQUEST" and event["SEQUENCE"] == 1 and invite.session_id == first.id:
            assert event["DTSTART"].dt == first.starts_at  # the update carries the new time

    confirmed, cancelled = "CONFIRMED", "CANCELLED"
    assert history[(first.id, "eva@example.nl")] == [
        ("REQUEST", 0, confirmed),
        ("REQUEST", 1, confirmed),
    ]
    assert history[(second.id, "eva@example.nl")] == [
        ("REQUEST", 0, confirmed),
        ("CANCEL", 1, cancelled),
    ]
    assert history[(first.id, "bram@example.nl")] == [
        ("REQUEST", 0, confirmed),
        ("REQUEST", 1, confirmed),
        ("CANCEL", 2, cancelled),
    ]
    assert history[(second.id, "bram@example.nl")] == [
        ("REQUEST", 0, confirmed),
        ("CANCEL", 1, cancelled),
    ]
    assert history[(second.id, "trainer@example.nl")] == [
        ("REQUEST", 0, confirmed),
        ("CANCEL", 1, cancelled),
    ]
    cancel_row = next(
        r for r in rows if r.calendar_method == "CANCEL" and r.to_email == "eva@example.nl"
    )
    assert "De zaal is niet beschikbaar" in cancel_row.text_body


def test_worker_delivers_exactly_one_invite(
    app, celery_worker, smtp_server, make_edition, attendees
):
    edition = make_edition(days=1)
    attendees.add(eva())
    sync_edition_invites(edition)
    db.session.commit()  # after commit: the delivery task is on the broker
    [row] = outbox_to("eva@example.nl")
    # A sweep that re-enqueues a row whose task is merely slow must not cause a second mail.
    assert services.enqueue_delivery(row.id)
    assert services.enqueue_delivery(row.id)

    smtp_server.wait_for(1)
    time.sleep(2)  # room for a duplicate to show up
    received = [m for rcpts, m in smtp_server.messages if rcpts == ["eva@example.nl"]]
    assert len(received) == 1
    method, event = parse_invite(received[0])
    invite = db.session.scalar(select(CalendarInvite))
    assert method == "REQUEST"
    assert str(event["UID"]) == invite.uid and event["SEQUENCE"] == 0
    db.session.expire_all()
    row = db.session.get(OutboxMessage, row.id)
    assert row.status == OutboxStatus.SENT and row.attempts == 1


# -- Redis down during the change ---------------------------------------------------------------
def wait_until(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()  # see what the worker committed
        if predicate():
            return True
        time.sleep(0.1)
    return False


class RedisServer:
    def __init__(self, port: int, workdir):
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def use_broker(app, url: str | None) -> None:
    """Point this process's Celery producer at another broker. The pools hold connections to
    the URL they were made for, and kombu keeps producer pools per connection globally."""
    from kombu import pools

    celery = app.extensions["celery"]
    pools.reset()
    celery._pool = None
    celery.amqp._producer_pool = None
    # CELERY_BROKER_URL in the environment wins over broker_url; the write URL does not.
    celery.conf.broker_write_url = url


def test_change_succeeds_with_redis_down_and_invite_arrives_after(
    app, smtp_server, tmp_path, make_edition, attendees
):
    require(shutil.which("redis-server") and redis_available(), "Redis")
    redis_server = RedisServer(free_port(), tmp_path).start()
    worker = None
    try:
        use_broker(app, redis_server.url)
        app.config["OUTBOX_AUTO_ENQUEUE"] = True
        worker = Worker(
            service_env(
                CELERY_BROKER_URL=redis_server.url,
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(smtp_server.port),
            ),
            tmp_path / "worker.log",
        ).start()
        edition = make_edition(days=1)
        # Stop Redis only once the worker is idle: the Redis transport of kombu 5 cannot restore
        # a message that is in flight when the connection drops, and the worker exits with
        # "Unrecoverable error" (a supervisor restarts it; the outbox keeps the mail). The
        # first task a worker runs is its heartbeat.
        assert wait_until(lambda: db.session.scalar(select(func.count(WorkerHeartbeat.name))))
        time.sleep(0.5)

        redis_server.stop()
        attendees.add(eva())
        started = time.monotonic()
        sync_edition_invites(edition)  # the enrollment's change, with its invite in the outbox
        db.session.commit()
        assert time.monotonic() - started < 15  # the request did not hang on the broker
        db.session.expire_all()
        [row] = outbox_to("eva@example.nl")
        assert row.status == OutboxStatus.PENDING
        assert db.session.scalar(select(CalendarInvite.email)) == "eva@example.nl"
        time.sleep(1)
        assert smtp_server.messages == []

        redis_server.start()  # back on the same port
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not smtp_server.messages:
            tasks.sweep(grace_seconds=0)  # what the beat does every minute
            smtp_server.wait_for(1, timeout=2)
        time.sleep(2)
        received = [m for rcpts, m in smtp_server.messages if rcpts == ["eva@example.nl"]]
        assert len(received) == 1, (tmp_path / "worker.log").read_text()[-3000:]
        method, event = parse_invite(received[0])
        assert method == "REQUEST"
        db.session.expire_all()
        assert db.session.get(OutboxMessage, row.id).status == OutboxStatus.SENT
    finally:
        if worker is not None:
            worker.stop()
        redis_server.stop()
        use_broker(app, None)


def test_raw_message_survives_smtp_round_trip(app, smtp_server, make_edition, attendees):
    """In-process delivery over real SMTP: what arrives is what build_message made."""
    edition = make_edition(days=1)
    attendees.add(eva())
    sync_edition_invites(edition)
    db.session.commit()
    assert tasks.deliver_due_now() == {"sent": 1}
    [(rcpts, msg)] = smtp_server.wait_for(1)
    assert rcpts == ["eva@example.nl"]
    reparsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    method, event = parse_invite(reparsed)
    assert method == "REQUEST"
    assert event["DTSTART"].dt.astimezone(UTC) == edition.sessions[0].starts_at
