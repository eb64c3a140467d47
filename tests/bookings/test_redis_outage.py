"""Redis is not needed to use the site: with a private Redis server stopped, people sign in,
register, request an inhouse training and enroll, each in its usual time; rate limits keep
counting (in each process's memory); /healthz says the broker is down; and every mail those
actions queued arrives once Redis is back and the sweep has run."""

import os
import shutil
import signal
import time
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bbtraining import create_app
from bbtraining.extensions import db, limiter
from bbtraining.notifications import tasks
from bbtraining.notifications.models import OutboxMessage, OutboxStatus, WorkerHeartbeat
from tests.bookings.inhouse.conftest import inhouse  # noqa: F401 - the fixture
from tests.bookings.inhouse.test_inhouse_request import _form as inhouse_form
from tests.conftest import (
    PASSWORD,
    CSRFClient,
    Worker,
    free_port,
    redis_available,
    require,
    service_env,
)
from tests.notifications.test_delivery import RedisServer, use_broker

pytestmark = pytest.mark.services

# What a request may take while Redis is down: the broker publish gives up after 1 s, a
# rate-limit or page-cache probe of a hung Redis after 0.5 s (on a busy 2-core test machine).
USUAL = {"stopped": 2.5, "hung": 3.0}


def _web_app(app, **overrides):
    web = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        MAILBOX_DIR=app.config["MAILBOX_DIR"],
        PUBLIC_URL="http://bbtraining.test",
        RATELIMIT_KEY_PREFIX=app.config["RATELIMIT_KEY_PREFIX"],
        **overrides,
    )
    web.test_client_class = CSRFClient
    return web


@pytest.fixture
def outage(app, smtp_server, tmp_path):
    """A web app whose rate limits, page-cache versions and broker are a private Redis, and a
    real worker on that broker delivering to the test SMTP server."""
    require(bool(shutil.which("redis-server")) and redis_available(), "Redis")
    server = RedisServer(free_port(), tmp_path).start()
    web = _web_app(
        app,
        OUTBOX_AUTO_ENQUEUE=True,
        REDIS_URL=server.url,
        RATELIMIT_STORAGE_URI=server.url,
        RATELIMIT_STORAGE_OPTIONS={"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
    )
    use_broker(web, server.url)
    worker = None
    try:
        worker = Worker(
            service_env(
                CELERY_BROKER_URL=server.url,
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(smtp_server.port),
                PUBLIC_URL="http://bbtraining.test",
            ),
            tmp_path / "worker.log",
        ).start()
        # Stop Redis only when the worker is idle (see test_delivery): its first task is its
        # heartbeat.
        assert _wait(lambda: db.session.scalar(select(func.count(WorkerHeartbeat.name))))
        time.sleep(0.5)
        yield SimpleNamespace(web=web, server=server, worker=worker)
    finally:
        if worker is not None:
            worker.stop()
        if server.proc and server.proc.poll() is None:
            os.kill(server.proc.pid, signal.SIGCONT)  # a paused server does not die of a kill
        server.stop()
        with web.app_context():
            db.session.remove()
            db.engine.dispose()
        use_broker(app, None)
        # The limiter is one object: point it back at the suite's storage.
        restore = _web_app(app)
        with restore.app_context():
            db.engine.dispose()
        limiter._storage_dead = False


def _wait(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        if predicate():
            return True
        time.sleep(0.1)
    return False


LIMIT = {"seconds": 2.5}


@contextmanager
def in_usual_time(what: str):
    started = time.monotonic()
    yield
    took = time.monotonic() - started
    assert took < LIMIT["seconds"], f"{what} took {took:.1f} s with Redis down"


@pytest.mark.parametrize("how", ["stopped", "hung"])
def test_site_works_while_redis_is_down_and_mail_follows(
    how,
    outage,
    smtp_server,
    make_user,
    make_edition,
    billing_form,
    inhouse,  # noqa: F811
):
    """stopped: the server is gone (connections refused); hung: it is paused (SIGSTOP), so
    connections are accepted and nothing is answered: only the timeouts help."""
    LIMIT["seconds"] = USUAL[how]
    member = make_user("facilitator", email="lid@example.nl")
    inhouse.course(slug="inspiratie")
    edition = make_edition(capacity=5)
    edition_id = edition.id
    web = outage.web

    if how == "hung":
        os.kill(outage.server.proc.pid, signal.SIGSTOP)
    else:
        outage.server.stop()

    visitor = web.test_client()
    with in_usual_time("the catalog"):
        assert visitor.get("/").status_code == 200
    with in_usual_time("/healthz"):
        health = visitor.get("/healthz")
    assert health.status_code == 503 and health.json["broker"] == "down"
    assert health.json["database"] == "up"

    member_client = web.test_client()
    with in_usual_time("signing in"):
        response = member_client.post(
            "/auth/login", data={"email": member.email, "password": PASSWORD}
        )
    assert response.status_code == 302
    with in_usual_time("enrolling"):
        response = member_client.post(f"/editions/{edition_id}/enroll", data=billing_form())
    assert response.status_code == 302, response.data[:1000]
    assert "/enrollments/" in response.headers["Location"]

    with in_usual_time("registering"):
        response = web.test_client().post(
            "/auth/register",
            data={
                "name": "Eva de Boer",
                "email": "eva@example.nl",
                "password": "zeven-lange-woorden",
                "password_confirm": "zeven-lange-woorden",
                "account_type": "facilitator",
                "organisation_kind": "gemeente",
            },
        )
    assert response.status_code == 302

    with in_usual_time("the inhouse request"):
        response = web.test_client().post("/courses/inspiratie/request", data=inhouse_form())
    assert response.status_code == 302, response.data[:1000]

    # The login limit still counts, in this process's memory: guessing stops at the limit.
    guesser = web.test_client()
    statuses = []
    for n in range(12):
        with in_usual_time("a wrong password"):
            statuses.append(
                guesser.post(
                    "/auth/login", data={"email": f"gok{n}@example.nl", "password": "fout"}
                ).status_code
            )
    assert 429 in statuses and statuses[-1] == 429
    assert statuses[0] == 200  # the form again, with its message

    db.session.expire_all()
    queued = db.session.scalars(select(OutboxMessage)).all()
    recipients = {row.to_email for row in queued}
    assert {"lid@example.nl", "eva@example.nl", "femke@amersfoort.example.nl"} <= recipients
    assert all(row.status == OutboxStatus.PENDING for row in queued)
    time.sleep(1)
    assert smtp_server.messages == []

    if how == "hung":
        os.kill(outage.server.proc.pid, signal.SIGCONT)
    else:
        outage.server.start()  # back on the same port
    with in_usual_time("/healthz"):
        assert visitor.get("/healthz").json["broker"] == "up"
    with web.app_context():
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(smtp_server.messages) < len(queued):
            tasks.sweep(grace_seconds=0)  # what the beat does every 10 s
            smtp_server.wait_for(len(queued), timeout=2)
    time.sleep(1)  # room for a duplicate
    log = (outage.worker.log_path).read_text()[-3000:]
    delivered = sorted(m["Message-ID"] for _rcpts, m in smtp_server.messages)
    assert delivered == sorted(row.message_id for row in queued), log
    assert _wait(
        lambda: (
            db.session.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.status != OutboxStatus.SENT
                )
            )
            == 0
        )
    )
