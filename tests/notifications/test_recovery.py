"""Mail recovers in seconds: a row is leased while it is sent, a dead worker's lease runs out
and the sweep hands the row back; a worker killed mid-run loses nothing and sends at most the
rows it had in flight twice, each copy with the row's own Message-ID."""

import asyncio
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from bbtraining.notifications import tasks
from bbtraining.notifications.mail import build_message
from bbtraining.notifications.models import OutboxMessage, OutboxStatus
from bbtraining.notifications.services import queue_mail
from tests.conftest import Worker, free_port, purge_broker, redis_available, require, service_env

pytestmark = pytest.mark.services


class SlowSink:
    """An SMTP server that takes `delay` seconds before its 250 and counts Message-IDs."""

    def __init__(self, delay: float):
        from aiosmtpd.controller import Controller

        self.ids: Counter[str] = Counter()
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
                await asyncio.sleep(delay)
                content = envelope.content
                start = content.find(b"Message-ID:")
                end = content.find(b"\r\n", start)
                with sink.lock:
                    sink.ids[content[start + 11 : end].strip().decode()] += 1
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> int:
        with self.lock:
            return sum(self.ids.values())


@pytest.fixture
def slow_smtp(app):
    sinks = []

    def start(delay: float) -> SlowSink:
        sink = SlowSink(delay)
        sink.controller.start()
        sinks.append(sink)
        # Longer than the sink's delay, whatever an earlier test left behind.
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_TIMEOUT=20)
        return sink

    old_timeout = app.config["SMTP_TIMEOUT"]
    yield start
    from bbtraining.notifications import mail

    mail.close_smtp_connection()
    app.config.update(SMTP_HOST=None, SMTP_PORT=25, SMTP_TIMEOUT=old_timeout)
    for sink in sinks:
        sink.controller.stop()


@pytest.fixture
def short_lease(app):
    old = {k: app.config[k] for k in ("OUTBOX_LEASE_SECONDS", "OUTBOX_SWEEP_AFTER")}
    yield app.config
    app.config.update(old)


def queue(count: int) -> list[int]:
    rows = [
        queue_mail(
            to=f"deelnemer{n}@example.nl",
            subject="Herinnering",
            template="auth/verify",
            context={"user": type("U", (), {"first_name": "X"}), "link": "http://x"},
        )
        for n in range(count)
    ]
    db.session.commit()
    return [row.id for row in rows]


def status_of(row_id: int) -> str:
    db.session.expire_all()
    return db.session.get(OutboxMessage, row_id).status


def test_message_id_is_the_same_for_every_attempt():
    [row_id] = queue(1)
    row = db.session.get(OutboxMessage, row_id)
    assert build_message(row)["Message-ID"] == build_message(row)["Message-ID"] == row.message_id
    row.message_id = None  # rows queued before message ids were stored
    assert build_message(row)["Message-ID"] == f"<outbox-{row_id}@bbtraining>"


def test_lapsed_lease_is_handed_back_and_a_live_one_is_not(app):
    lapsed, live = queue(2)
    lease = app.config["OUTBOX_LEASE_SECONDS"]
    db.session.get(OutboxMessage, lapsed).status = OutboxStatus.SENDING
    db.session.get(OutboxMessage, lapsed).claimed_at = utcnow() - timedelta(seconds=lease + 1)
    db.session.get(OutboxMessage, live).status = OutboxStatus.SENDING
    db.session.get(OutboxMessage, live).claimed_at = utcnow() - timedelta(seconds=lease - 5)
    db.session.commit()

    assert tasks.due_row_ids() == [lapsed]
    assert status_of(lapsed) == OutboxStatus.PENDING
    assert status_of(live) == OutboxStatus.SENDING


def test_sweep_hands_a_row_over_once_per_grace_period(app):
    [row_id] = queue(1)
    grace = app.config["OUTBOX_SWEEP_AFTER"]
    db.session.get(OutboxMessage, row_id).next_attempt_at = utcnow() - timedelta(seconds=grace + 1)
    db.session.commit()
    assert tasks.due_row_ids() == [row_id]
    # Its task may wait in a long queue: the next sweeps do not pile copies on top of it.
    assert tasks.due_row_ids() == []


def test_lease_is_renewed_while_a_slow_server_takes_its_time(app, slow_smtp, short_lease):
    sink = slow_smtp(delay=2.0)
    short_lease.update(OUTBOX_LEASE_SECONDS=0.6)
    [row_id] = queue(1)
    outcome = []

    def send():
        with app.app_context():
            outcome.append(tasks.deliver(row_id))
            db.session.remove()

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(1.3)  # twice the lease: only the renewals keep it
    assert row_id not in tasks.due_row_ids(grace_seconds=0)
    assert status_of(row_id) == OutboxStatus.SENDING
    sender.join(timeout=20)
    assert outcome == ["sent"]
    assert status_of(row_id) == OutboxStatus.SENT
    time.sleep(0.5)
    assert sink.received == 1


def test_killed_worker_loses_nothing_and_recovers_within_a_minute(
    app, slow_smtp, short_lease, tmp_path
):
    """SIGKILL the worker halfway through 40 mails, start a new one, let the sweep run."""
    require(redis_available(), "Redis")
    import redis

    sink = slow_smtp(delay=0.1)
    # The sweep in this process plays the beat; the lease is short so the test is short.
    short_lease.update(OUTBOX_LEASE_SECONDS=3, OUTBOX_SWEEP_AFTER=2)
    env = service_env(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(sink.port),
        OUTBOX_LEASE_SECONDS="3",
        OUTBOX_SWEEP_AFTER="2",
    )
    purge_broker(app)
    app.config["OUTBOX_AUTO_ENQUEUE"] = True
    worker = Worker(env, tmp_path / "worker.log").start()
    restarted = None
    try:
        ids = queue(40)  # two batch tasks
        deadline = time.monotonic() + 30
        while sink.received < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        worker.proc.kill()
        worker.proc.wait(timeout=10)
        assert 0 < sink.received < 40, "the worker should die halfway"

        restarted = Worker(env, tmp_path / "worker2.log").start()
        started = time.monotonic()
        while time.monotonic() - started < 60:
            tasks.sweep()
            db.session.expire_all()
            pending = db.session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.status != OutboxStatus.SENT)
            ).all()
            if not pending:
                break
            time.sleep(1)
        recovery = time.monotonic() - started
        time.sleep(1)  # room for a late duplicate
    finally:
        worker.stop()
        if restarted is not None:
            restarted.stop()
        # The killed worker's unacknowledged tasks would come back in an hour; drop them.
        redis.Redis.from_url(env["CELERY_BROKER_URL"]).delete("unacked", "unacked_index")

    assert recovery < 60, (tmp_path / "worker2.log").read_text()[-3000:]
    expected = {db.session.get(OutboxMessage, i).message_id for i in ids}
    assert set(sink.ids) == expected  # nothing lost
    duplicates = sum(n - 1 for n in sink.ids.values())
    assert duplicates <= 4  # at most the rows in flight (4 worker threads)
