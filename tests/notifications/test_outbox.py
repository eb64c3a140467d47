import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bbtraining.extensions import db
from bbtraining.notifications import tasks
from bbtraining.notifications.models import OutboxMessage, OutboxStatus
from bbtraining.notifications.services import Attachment, queue_mail
from tests.conftest import (
    Worker,
    free_port,
    redis_available,
    require,
    service_env,
)


def _queue(to="eva@example.nl", **kwargs) -> OutboxMessage:
    row = queue_mail(
        to=to,
        subject="Bevestig uw e-mailadres",
        template="auth/verify",
        context={"user": _U(), "link": "http://x/verify"},
        **kwargs,
    )
    db.session.commit()
    return row


class _U:
    first_name = "Eva"


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _status(row_id):
    db.session.expire_all()
    return db.session.get(OutboxMessage, row_id).status


def test_queue_mail_renders_in_recipients_language(make_user):
    user = make_user(email="en@example.nl")
    user.locale = "en"
    db.session.commit()
    row = queue_mail(
        to=user,
        subject="Bevestig uw e-mailadres",
        template="auth/verify",
        context={"user": user, "link": "http://x"},
    )
    assert row.to_name == user.name
    assert "http://x" in row.text_body and row.html_body.startswith("<!doctype html>")


def test_rollback_discards_the_mail():
    queue_mail(
        to="a@example.nl", subject="x", template="auth/verify", context={"user": _U(), "link": "l"}
    )
    db.session.rollback()
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_delivery_to_local_mailbox_and_admin_can_read_it(app, client, make_user, login):
    row = _queue(attachments=[Attachment("factuur.pdf", "application/pdf", b"%PDF-1.4 x")])
    assert tasks.deliver(row.id) == "sent"
    assert _status(row.id) == OutboxStatus.SENT
    name = f"{row.id:08d}.eml"
    assert (Path(app.config["MAILBOX_DIR"]) / name).is_file()

    login(make_user("facilitator"))
    assert client.get("/dev/mailbox/").status_code == 403
    client.post("/auth/logout")
    login(make_user("admin"))
    listing = client.get("/dev/mailbox/").get_data(as_text=True)
    assert "Bevestig uw e-mailadres" in listing and name in listing
    page = client.get(f"/dev/mailbox/{name}").get_data(as_text=True)
    assert "http://x/verify" in page and "factuur.pdf" in page
    download = client.get(f"/dev/mailbox/{name}/attachments/0")
    assert download.data == b"%PDF-1.4 x"
    assert client.get("/dev/mailbox/..%2Fsecret.eml").status_code == 404
    app.config["DEV_PAGES"] = False
    try:
        assert client.get("/dev/mailbox/").status_code == 404
    finally:
        app.config["DEV_PAGES"] = True


def test_admin_outbox_lists_failed_and_retries(client, make_user, login):
    row = _queue()
    db.session.get(OutboxMessage, row.id).status = OutboxStatus.FAILED
    db.session.get(OutboxMessage, row.id).last_error = "SMTPRecipientsRefused: 550"
    db.session.commit()
    login(make_user("admin"))
    page = client.get("/admin/outbox/?status=failed").get_data(as_text=True)
    assert "SMTPRecipientsRefused: 550" in page
    client.post(f"/admin/outbox/{row.id}/retry")
    assert _status(row.id) == OutboxStatus.PENDING


def test_deliver_twice_sends_once(smtp_server):
    row = _queue()
    assert tasks.deliver(row.id) == "sent"
    assert tasks.deliver(row.id) == "skipped"
    assert len(smtp_server.wait_for(1)) == 1
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1
    rcpts, msg = smtp_server.messages[0]
    assert rcpts == ["eva@example.nl"] and msg["Subject"] == "Bevestig uw e-mailadres"


def test_concurrent_deliveries_send_once(app, smtp_server):
    row_id = _queue().id  # read in this thread: the row belongs to this thread's session
    results = []

    def run():
        with app.app_context():
            results.append(tasks.deliver(row_id))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("sent") == 1
    smtp_server.wait_for(1)
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1


def test_smtp_failure_is_retried_with_backoff_and_recorded(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=2)
    try:
        row = _queue()
        assert tasks.deliver(row.id) == "retry"
    finally:
        app.config.update(SMTP_HOST=None, SMTP_PORT=25)
    db.session.expire_all()
    row = db.session.get(OutboxMessage, row.id)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert "ConnectionRefused" in row.last_error
    assert row.next_attempt_at > row.created_at
    # Not due yet: the sweep leaves it alone until its backoff has passed.
    assert row.id not in tasks.due_row_ids(grace_seconds=0)


def test_gives_up_after_max_attempts(app):
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=2, OUTBOX_MAX_ATTEMPTS=2
    )
    try:
        row = _queue()
        tasks.deliver(row.id)
        db.session.get(OutboxMessage, row.id).status = OutboxStatus.PENDING
        db.session.commit()
        assert tasks.deliver(row.id) == "failed"
    finally:
        app.config.update(SMTP_HOST=None, SMTP_PORT=25, OUTBOX_MAX_ATTEMPTS=8)
    assert _status(row.id) == OutboxStatus.FAILED


def test_worker_delivers_exactly_once_even_when_task_runs_twice(app, celery_worker, smtp_server):
    from bbtraining.notifications.tasks import deliver_outbox_message

    row = _queue()  # the commit enqueues it
    deliver_outbox_message.apply_async((row.id,))  # and a duplicate task for the same row
    deliver_outbox_message.apply_async((row.id,))
    assert _wait(lambda: _status(row.id) == OutboxStatus.SENT)
    smtp_server.wait_for(1)
    time.sleep(1.0)
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0][0] == ["eva@example.nl"]


def test_healthz_green_with_worker(client, celery_worker):
    assert _wait(lambda: client.get("/healthz").status_code == 200, timeout=30)
    body = client.get("/healthz").json
    assert body == {"status": "ok", "database": "up", "broker": "up", "worker": "up"}


def test_healthz_reports_missing_worker(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["worker"] == "down" and response.json["database"] == "up"


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of our own that the test can stop and start again on the same port."""
    require(bool(shutil.which("redis-server")) and redis_available(), "Redis")
    port = free_port()
    cmd = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        proc = None

        def start(self):
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
            import redis

            assert _wait(lambda: _ping(redis, self.url), timeout=10)

        def stop(self):
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def _ping(redis, url):
        try:
            return redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
        except Exception:
            return False

    server = Server()
    server.start()
    yield server
    if server.proc and server.proc.poll() is None:
        server.stop()


def test_mail_queued_while_broker_down_arrives_after_it_returns(
    app, private_redis, smtp_server, tmp_path, monkeypatch
):
    celery = app.extensions["celery"]
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)
    _reset_producer_pool(celery)
    app.config["OUTBOX_AUTO_ENQUEUE"] = True
    private_redis.stop()
    try:
        started = time.monotonic()
        row = _queue()  # the user's action succeeds although the broker is down
        assert time.monotonic() - started < 10
        assert _status(row.id) == OutboxStatus.PENDING

        private_redis.start()
        worker = Worker(
            service_env(
                CELERY_BROKER_URL=private_redis.url,
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(smtp_server.port),
            ),
            tmp_path / "worker.log",
        ).start()
        try:
            due = tasks.due_row_ids(grace_seconds=0)
            assert due == [row.id]
            assert tasks.sweep(grace_seconds=0) == 1
            assert _wait(lambda: _status(row.id) == OutboxStatus.SENT), worker.log_path.read_text()
            assert len(smtp_server.wait_for(1)) == 1
        finally:
            worker.stop()
    finally:
        monkeypatch.undo()
        _reset_producer_pool(celery)


def _reset_producer_pool(celery) -> None:
    # The pool holds connections to the broker URL it was made for; this test swaps the URL.
    from kombu import pools

    pools.reset()
    celery._pool = None
    celery.amqp._producer_pool = None
