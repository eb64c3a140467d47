"""The fast path for many mails at once (a reminder run): batched tasks and kept SMTP
connections, still exactly one mail per outbox row."""

import time

import pytest
from sqlalchemy import func, select

from bbtraining.extensions import db
from bbtraining.notifications import mail, services, tasks
from bbtraining.notifications.models import OutboxMessage, OutboxStatus
from bbtraining.notifications.services import queue_mail
from tests.conftest import free_port


class CountingSink:
    """An aiosmtpd server that remembers which connection brought each mail, and refuses
    mailboxes called weiger@..."""

    def __init__(self, timeout: float = 300):
        from aiosmtpd.controller import Controller

        self.mails: list[tuple[tuple, list[str]]] = []
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
                if address.startswith("weiger@"):
                    return "550 5.1.1 Mailbox unavailable"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
                sink.mails.append((session.peer, envelope.rcpt_tos))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=self.port, timeout=timeout
        )

    @property
    def connections(self) -> int:
        return len({peer for peer, _ in self.mails})


@pytest.fixture
def counting_smtp(app):
    sinks = []

    def start(**kwargs) -> CountingSink:
        sink = CountingSink(**kwargs)
        sink.controller.start()
        sinks.append(sink)
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port)
        return sink

    yield start
    mail.close_smtp_connection()
    app.config.update(SMTP_HOST=None, SMTP_PORT=25, SMTP_MAX_MESSAGES_PER_CONNECTION=100)
    for sink in sinks:
        sink.controller.stop()


def queue(count: int) -> list[int]:
    rows = [
        queue_mail(
            to=f"deelnemer{n}@example.nl",
            subject="Herinnering",
            template="auth/verify",
            context={"user": type("U", (), {"first_name": "X"}), "link": "http://x"},
            dedupe_key=f"test:{n}",
        )
        for n in range(count)
    ]
    db.session.commit()
    return [row.id for row in rows]


def sent_count() -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.status == OutboxStatus.SENT)
    )


def test_one_connection_carries_many_mails(counting_smtp):
    sink = counting_smtp()
    queue(30)
    assert tasks.deliver_due_now() == {"sent": 30}
    assert len(sink.mails) == 30
    assert sink.connections == 1
    assert sent_count() == 30


@pytest.mark.parametrize(("per_connection", "connections"), [(10, 3), (1, 30)])
def test_connection_is_renewed_after_its_quota(app, counting_smtp, per_connection, connections):
    sink = counting_smtp()
    app.config["SMTP_MAX_MESSAGES_PER_CONNECTION"] = per_connection
    queue(30)
    assert tasks.deliver_due_now() == {"sent": 30}
    assert len(sink.mails) == 30
    assert sink.connections == connections


def test_connection_the_server_dropped_is_replaced_before_sending(counting_smtp):
    """The server closes an idle connection (here after 1 s); the next mail, 6 s later, checks
    the connection first and goes out over a new one: delivered once, no error recorded."""
    sink = counting_smtp(timeout=1)
    first, second = queue(2)
    assert tasks.deliver(first) == "sent"
    time.sleep(6)
    assert tasks.deliver(second) == "sent"
    assert [rcpts for _peer, rcpts in sink.mails] == [
        ["deelnemer0@example.nl"],
        ["deelnemer1@example.nl"],
    ]
    assert sink.connections == 2
    db.session.expire_all()
    assert db.session.get(OutboxMessage, second).last_error is None


def test_failure_mid_batch_retries_only_that_row(app, counting_smtp):
    """An SMTP server that refuses one recipient: the others in the batch still go out, and
    the refused one is marked for a retry, not sent twice."""
    sink = counting_smtp()
    ids = queue(5)
    db.session.get(OutboxMessage, ids[2]).to_email = "weiger@example.nl"  # refused at RCPT
    db.session.commit()
    outcomes = tasks.deliver_many(ids)
    assert [outcomes[i] for i in ids] == ["sent", "sent", "retry", "sent", "sent"]
    assert len(sink.mails) == 4
    db.session.expire_all()
    refused = db.session.get(OutboxMessage, ids[2])
    assert refused.status == OutboxStatus.PENDING and refused.attempts == 1
    assert "Mailbox unavailable" in refused.last_error
    again = tasks.deliver_many(ids)  # a duplicate task: the sent rows are not sent again
    assert [again[i] for i in ids] == ["skipped", "skipped", "retry", "skipped", "skipped"]
    assert len(sink.mails) == 4


def test_rows_committed_together_travel_in_batches(app, counting_smtp, celery_worker):
    """A commit of 60 rows hands them to the broker in batches of OUTBOX_BATCH_SIZE; a real
    worker delivers each exactly once, also when the sweep hands them over a second time."""
    sink = counting_smtp()
    celery_worker.stop()  # restart it on this test's SMTP server
    celery_worker.env["SMTP_PORT"] = str(sink.port)
    celery_worker.start()
    ids = queue(60)  # the commit enqueues them
    assert services.enqueue_rows(ids) == 60  # as a sweep would: the same rows again
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sent_count() < 60:
        time.sleep(0.2)
    time.sleep(1.5)
    assert sent_count() == 60
    recipients = [rcpts[0] for _peer, rcpts in sink.mails]
    assert len(recipients) == len(set(recipients)) == 60
    assert sink.connections < 60  # worker threads kept their connections
