"""Shared fixtures: one database per test run, cleaned after each test; real services.

DATABASE_URL / REDIS_URL select PostgreSQL and Redis (CI sets both). Without them the suite runs
on a SQLite file and kombu's SQLAlchemy transport, so `make test` passes on a bare laptop.
With REQUIRE_SERVICES=1 (set by .ci/run) a test that needs an unreachable service fails.
"""

import contextlib
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
_TMP = Path(tempfile.mkdtemp(prefix="bbtraining-tests-"))
os.environ.setdefault("BBTRAINING_INSTANCE", str(_TMP / "instance"))

from bbtraining import create_app  # noqa: E402
from bbtraining.extensions import db, limiter  # noqa: E402
from tests import factories  # noqa: E402

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
TRANSLATIONS = ROOT / "bbtraining" / "translations"


def compile_catalogs() -> None:
    """Compile every .po whose .mo is missing or older, as `make translations` does.

    The .mo files are not in git, so a bare `pytest` after `make extract` (or a fresh checkout)
    would otherwise render English pages from a stale catalog. Runs before any test loads one.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        partial = mo_path.with_name(f"messages.{os.getpid()}.mo.tmp")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=True)
        partial.replace(mo_path)  # atomic, so parallel test processes never read half a file


compile_catalogs()


def require(condition: bool, what: str) -> None:
    """Skip on a laptop without the service; fail in CI (REQUIRE_SERVICES=1)."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def database_url_for_tests() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{_TMP / 'test.sqlite'}"


def broker_url_for_tests() -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    return f"sqla+sqlite:///{_TMP / 'broker.sqlite'}"


def service_env(**extra: str) -> dict[str, str]:
    """Environment for a subprocess (worker, gunicorn) that must share this test database."""
    env = {
        **os.environ,
        "BBTRAINING_CONFIG": "testing",
        "DATABASE_URL": database_url_for_tests(),
        "CELERY_BROKER_URL": broker_url_for_tests(),
        "BBTRAINING_INSTANCE": str(_TMP / "instance"),
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def app():
    os.environ["DATABASE_URL"] = database_url_for_tests()
    os.environ["CELERY_BROKER_URL"] = broker_url_for_tests()
    from importlib import reload

    import config

    reload(config)  # config reads the environment at import time
    application = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=config._database_url(),
        OUTBOX_AUTO_ENQUEUE=False,
        MAILBOX_DIR=str(_TMP / "mailbox"),
        PUBLIC_URL="http://bbtraining.test",
        RATELIMIT_KEY_PREFIX=f"test-{os.getpid()}",
    )
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(_TMP, ignore_errors=True)


def _clean_database() -> None:
    """Empty every table a test wrote to, and restart its ids.

    Only the tables that hold rows are truncated: TRUNCATE costs PostgreSQL file work per table.
    """
    db.session.rollback()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        probe = " UNION ALL ".join(
            f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")"  # noqa: S608
            for name in tables
        )
        used = [row[0] for row in db.session.execute(text(probe))]
        if used:
            quoted = ", ".join(f'"{name}"' for name in used)
            db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608 - our table names
    db.session.commit()


@pytest.fixture(autouse=True)
def _app_context(app):
    with app.app_context():
        yield
        _clean_database()
        db.session.remove()
    with contextlib.suppress(Exception):  # a storage that cannot reset only hurts limit tests
        limiter.reset()
    app.config["OUTBOX_AUTO_ENQUEUE"] = False


class CSRFClient(FlaskClient):
    """A test client that sends the page's CSRF token with every POST, like a browser.

    Pass `csrf=False` to post without one (to test that it is refused).
    """

    def open(self, *args, **kwargs):
        # Tests hold an app context open, and a request reuses it: without this, `g` (the cached
        # current_user, the CSRF token) would leak from one request into the next.
        from flask import g, has_app_context

        if has_app_context():
            for key in list(vars(g)):
                delattr(g, key)
        return super().open(*args, **kwargs)

    def _token(self) -> str:
        page = super().get("/auth/logout", headers={"Accept": "text/html"})
        match = re.search(rb'name="csrf-token" content="([^"]+)"', page.data)
        assert match, "no CSRF token in the page"
        return match.group(1).decode()

    def post(self, *args, csrf: bool = True, **kwargs):
        if csrf:
            data = kwargs.get("data")
            if data is None:
                data = {}
            if isinstance(data, dict) and "csrf_token" not in data:
                kwargs["data"] = {**data, "csrf_token": self._token()}
        return super().post(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = CSRFClient
    return app.test_client()


# -- factories -----------------------------------------------------------------------------------
PASSWORD = "een-goed-wachtwoord-42"


@pytest.fixture
def make_user():
    from bbtraining.auth.models import Role, User

    counter = {"n": 0}

    def factory(
        *roles: str,
        email: str | None = None,
        name: str | None = None,
        organisation=None,
        verified: bool = True,
        password: str = PASSWORD,
    ):
        counter["n"] += 1
        user = User(
            email=email or f"user{counter['n']}@example.nl",
            name=name or f"Gebruiker {counter['n']}",
            organisation=organisation,
        )
        user.set_password(password)
        for role in roles or ("facilitator",):
            user.add_role(Role(role))
        if verified:
            user.mark_email_verified()
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_organisation():
    from bbtraining.auth.models import Organisation

    counter = {"n": 0}

    def factory(name: str | None = None, kind: str = "gemeente"):
        counter["n"] += 1
        org = Organisation(name=name or f"Gemeente Test {counter['n']}", kind=kind)
        db.session.add(org)
        db.session.commit()
        return org

    return factory


@pytest.fixture
def make_course():
    """A committed course: a published, open facilitator training unless told (tests/factories.py).

    Slugs and titles are numbered per test: training-1, Training gespreksbegeleiding 1, ...
    """
    numbers = itertools.count(1)

    def factory(**fields):
        return factories.course(next(numbers), **fields)

    return factory


@pytest.fixture
def make_edition(make_course):
    """An edition of `days` daily sessions (08:00-15:00 UTC) from `start_in_days` days from now,
    in Utrecht; `trainer` is its trainer and leads every session."""

    def factory(
        course=None,
        *,
        capacity: int = 12,
        days: int = 2,
        start_in_days: int = 30,
        trainer=None,
        **fields,
    ):
        return factories.edition(
            course or make_course(),
            factories.daily(days, from_day=start_in_days),
            capacity=capacity,
            trainers=[trainer] if trainer is not None else [],
            session_trainer=trainer,
            **fields,
        )

    return factory


@pytest.fixture
def login(client):
    def do_login(user, password: str = PASSWORD):
        response = client.post("/auth/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.data[:500]
        return client

    return do_login


def outbox_to(email: str):
    from sqlalchemy import select

    from bbtraining.notifications.models import OutboxMessage

    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_email == email).order_by(OutboxMessage.id)
        )
    )


# -- real services -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPSink:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
                from email import message_from_bytes, policy

                sink.messages.append(
                    (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def wait_for(self, count: int, timeout: float = 20.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def vies(app):
    """A VIES peer on a local port (tests/vies_server.py), set as the app's VIES_URL."""
    from tests.vies_server import ViesServer

    server = ViesServer().start()
    old = {k: app.config.get(k) for k in ("VIES_URL", "VIES_TIMEOUT")}
    app.config.update(VIES_URL=server.url, VIES_TIMEOUT=0.5)
    yield server
    app.config.update(old)
    server.stop()


@pytest.fixture
def smtp_server(app):
    sink = SMTPSink()
    sink.controller.start()
    old = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port)
    yield sink
    app.config.update(old)
    sink.controller.stop()


def redis_available() -> bool:
    url = os.environ.get("REDIS_URL")
    if not url:
        return False
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


class Worker:
    """A real `celery worker` process on the test database and broker."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Worker":
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bbtraining.worker",
                "worker",
                "--pool=threads",
                "--concurrency=4",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if b"ready." in self.log_path.read_bytes():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("worker exited:\n" + self.log_path.read_text()[-3000:])
            time.sleep(0.2)
        raise RuntimeError("worker did not start:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def purge_broker(app) -> None:
    celery = app.extensions["celery"]
    with celery.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


@pytest.fixture
def celery_worker(app, smtp_server, tmp_path):
    """A real worker delivering to the test SMTP server. Uses Redis when REDIS_URL is set."""
    if REQUIRE_SERVICES:
        require(redis_available(), "Redis")
    purge_broker(app)
    app.config["OUTBOX_AUTO_ENQUEUE"] = True
    worker = Worker(
        service_env(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp_server.port),
            PUBLIC_URL="http://bbtraining.test",
        ),
        tmp_path / "worker.log",
    ).start()
    yield worker
    worker.stop()
