"""Accounts can be neither discovered by the time a login takes nor guessed from many client
addresses: every attempt costs one password hash, and failures are counted per e-mail address
in the database (auth/lockout.py)."""

import statistics
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug import security

from bbtraining.auth import models, services
from bbtraining.auth.models import LoginThrottle, User
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from tests.conftest import PASSWORD, CSRFClient, outbox_to

WRONG = "Het e-mailadres of wachtwoord klopt niet."
LOCKED = "Er is te vaak een verkeerd wachtwoord ingevuld voor dit e-mailadres."
LOCK_SUBJECT = "Inloggen op uw account is tijdelijk geblokkeerd"


def _attempt(client, email, password, n):
    """One login from client address 198.51.100.n (no proxy is trusted in tests, so
    REMOTE_ADDR is what the per-address rate limit counts)."""
    return client.post(
        "/auth/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
    )


def _text(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


@pytest.fixture
def hash_calls(monkeypatch):
    """Counts the real password-hash checks (werkzeug's function, still doing the work)."""
    calls = []
    real = security.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", counting)
    return calls


def test_every_login_costs_one_password_hash_known_or_not(client, make_user, hash_calls):
    known = make_user(email="bekend@example.nl")
    inactive = make_user(email="uit@example.nl")
    inactive.is_active_account = False
    without_password = make_user(email="zonder@example.nl")
    without_password.password_hash = None
    db.session.commit()
    cases = [
        ("known, wrong password", known.email, "fout-wachtwoord"),
        ("unknown address", "niemand@example.nl", "fout-wachtwoord"),
        ("inactive account", inactive.email, PASSWORD),
        ("account without password", without_password.email, "fout-wachtwoord"),
    ]
    for n, (what, email, password) in enumerate(cases, start=1):
        hash_calls.clear()
        response = _attempt(client, email, password, n)
        assert WRONG in _text(response), what
        assert len(hash_calls) == 1, what
    # A locked address costs the same too (its lock must not show in the time either).
    for n in range(10):
        _attempt(client, known.email, "fout-wachtwoord", 10 + n)
    hash_calls.clear()
    assert LOCKED in _text(_attempt(client, known.email, PASSWORD, 30))
    assert len(hash_calls) == 1


def test_unknown_address_takes_as_long_as_a_known_one(app, make_user):
    """With the production hash (scrypt's default work factor), the median time to refuse an
    unknown address is of the same order as for a known one (before: ~1 % of it)."""
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    try:
        user = make_user(email="bekend@example.nl")
        user.set_password(PASSWORD)  # now with the production work factor
        db.session.commit()

        def median_seconds(email: str) -> float:
            durations = []
            for _ in range(5):
                started = time.perf_counter()
                assert services.authenticate(email, "fout-wachtwoord") is None
                durations.append(time.perf_counter() - started)
                db.session.rollback()  # no failure is counted: only the work is measured
            return statistics.median(durations)

        known, unknown = median_seconds(user.email), median_seconds("niemand@example.nl")
    finally:
        app.config["PASSWORD_HASH_METHOD"] = "scrypt:2048:8:1"
    assert unknown > known / 3, (known, unknown)
    assert known > unknown / 3, (known, unknown)


def test_account_locks_after_ten_failures_from_ten_addresses(client, make_user):
    user = make_user(email="eva@example.nl")
    for n in range(1, 11):
        response = _attempt(client, user.email, f"gok-nummer-{n}", n)
        assert response.status_code == 200, n
        assert WRONG in _text(response), n
    # The 11th attempt, from yet another address, with the right password: refused.
    response = _attempt(client, user.email, PASSWORD, 11)
    assert response.status_code == 429
    assert LOCKED in _text(response)
    assert "over 15 minuten opnieuw" in _text(response)
    assert client.get("/account/").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is None
    # The owner is told, once, with a link to set a new password.
    [mail] = outbox_to(user.email)
    assert mail.subject == LOCK_SUBJECT
    assert "10 keer achter elkaar een verkeerd wachtwoord" in mail.text_body
    assert "http://bbtraining.test/auth/reset/" in mail.text_body
    # Attempts during the lock neither extend it nor mail again.
    until = db.session.scalar(select(LoginThrottle.locked_until))
    for n in range(12, 16):
        assert _attempt(client, user.email, "nog-een-gok", n).status_code == 429
    db.session.expire_all()
    assert db.session.scalar(select(LoginThrottle.locked_until)) == until
    assert len(outbox_to(user.email)) == 1


def test_unknown_address_gets_the_same_lock_and_message(client, make_user):
    user = make_user(email="eva@example.nl")
    answers = {}
    for email in (user.email, "niemand@example.nl"):
        for n in range(1, 11):
            assert WRONG in _text(_attempt(client, email, "fout-wachtwoord", n))
        response = _attempt(client, email, PASSWORD, 11)
        assert response.status_code == 429
        page = _text(response)
        answers[email] = page[page.index(LOCKED) :].split("<", 1)[0]
    assert answers[user.email] == answers["niemand@example.nl"]
    assert outbox_to("niemand@example.nl") == []
    # Nothing readable about the unknown address is kept.
    keys = db.session.scalars(select(LoginThrottle.key)).all()
    assert len(keys) == 2 and all("example" not in key for key in keys)


def test_addresses_differing_in_case_share_one_count(client, make_user):
    user = make_user(email="eva@example.nl")
    for n in range(1, 11):
        email = "EVA@example.nl " if n % 2 else "eva@example.nl"
        _attempt(client, email, "fout-wachtwoord", n)
    assert _attempt(client, user.email, PASSWORD, 11).status_code == 429


def test_lock_ends_after_its_time(client, make_user):
    user = make_user(email="eva@example.nl")
    for n in range(1, 11):
        _attempt(client, user.email, "fout-wachtwoord", n)
    assert _attempt(client, user.email, PASSWORD, 11).status_code == 429
    lock = db.session.scalar(select(LoginThrottle))
    assert timedelta(minutes=14) < lock.locked_until - utcnow() <= timedelta(minutes=15)
    # Fifteen minutes later (the clock moved by moving the lock's times back).
    past = utcnow() - timedelta(seconds=1)
    db.session.execute(update(LoginThrottle).values(locked_until=past, window_started_at=past))
    db.session.commit()
    assert _attempt(client, user.email, PASSWORD, 12).status_code == 302
    assert client.get("/account/").status_code == 200
    assert db.session.scalar(select(LoginThrottle)) is None  # a success forgets the failures


def test_counting_starts_afresh_after_the_window(client, make_user):
    user = make_user(email="eva@example.nl")
    for n in range(1, 10):
        _attempt(client, user.email, "fout-wachtwoord", n)
    db.session.execute(
        update(LoginThrottle).values(window_started_at=utcnow() - timedelta(minutes=16))
    )
    db.session.commit()
    assert WRONG in _text(_attempt(client, user.email, "fout-wachtwoord", 10))
    assert db.session.scalar(select(LoginThrottle.failures)) == 1
    assert _attempt(client, user.email, PASSWORD, 11).status_code == 302


def test_password_reset_lifts_the_lock(client, make_user):
    user = make_user(email="eva@example.nl")
    for n in range(1, 11):
        _attempt(client, user.email, "fout-wachtwoord", n)
    [mail] = outbox_to(user.email)
    link = mail.text_body[mail.text_body.index("http://bbtraining.test") :].split()[0]
    response = client.post(
        link.removeprefix("http://bbtraining.test"),
        data={"password": "nieuw-en-lang-genoeg", "password_confirm": "nieuw-en-lang-genoeg"},
    )
    assert response.status_code == 302
    assert _attempt(client, user.email, "nieuw-en-lang-genoeg", 11).status_code == 302
    assert client.get("/account/").status_code == 200


def test_owner_is_mailed_at_most_once_a_day(client, make_user):
    user = make_user(email="eva@example.nl")
    for _round in range(2):
        for n in range(1, 11):
            _attempt(client, user.email, "fout-wachtwoord", n)
        assert _attempt(client, user.email, PASSWORD, 11).status_code == 429
        past = utcnow() - timedelta(seconds=1)
        db.session.execute(update(LoginThrottle).values(locked_until=past, window_started_at=past))
        db.session.commit()
    assert len(outbox_to(user.email)) == 1


def test_simultaneous_failures_lock_once(app, make_user):
    """Twenty wrong passwords at once from twenty addresses (threads, each its own connection):
    the count is exact, one failure locks, one mail goes out."""
    user = make_user(email="eva@example.nl")
    app.test_client_class = CSRFClient
    clients = [app.test_client() for _ in range(20)]
    tokens = [c._token() for c in clients]
    barrier = threading.Barrier(len(clients))
    statuses, errors = [], []

    email = user.email

    def attempt(n):
        barrier.wait(timeout=10)
        try:
            response = clients[n].post(
                "/auth/login",
                data={"email": email, "password": "fout", "csrf_token": tokens[n]},
                environ_base={"REMOTE_ADDR": f"203.0.113.{n + 1}"},
                csrf=False,
            )
            statuses.append(response.status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(statuses) == [200] * 10 + [429] * 10, statuses
    db.session.expire_all()
    assert len(outbox_to(user.email)) == 1
    assert db.session.scalar(select(LoginThrottle.locked_until)) > utcnow()


def test_current_password_cannot_be_guessed_through_a_signed_in_session(client, make_user, login):
    """Whoever holds a session (a copied cookie, an unlocked computer) gets as few guesses at
    the current password as the login form gives, from any number of addresses and over both
    forms that ask for it."""
    user = make_user(email="eva@example.nl")
    login(user)
    change = {"password": "een-nieuw-wachtwoord", "password_confirm": "een-nieuw-wachtwoord"}
    for n in range(1, 11):
        address = {"REMOTE_ADDR": f"192.0.2.{n}"}
        if n % 2:
            response = client.post(
                "/auth/password",
                data={**change, "current_password": f"gok-{n}"},
                environ_base=address,
            )
            assert "Uw huidige wachtwoord klopt niet" in _text(response), n
        else:
            response = client.post(
                "/alumni/privacy/delete",
                data={"password": f"gok-{n}", "confirm": "y"},
                environ_base=address,
            )
            assert "Uw wachtwoord klopt niet" in _text(response), n
    for url, data in (
        ("/auth/password", {**change, "current_password": PASSWORD}),
        ("/alumni/privacy/delete", {"password": PASSWORD, "confirm": "y"}),
    ):
        response = client.post(url, data=data, environ_base={"REMOTE_ADDR": "192.0.2.99"})
        assert response.status_code == 429, url
        assert "te vaak geprobeerd" in _text(response)
    db.session.expire_all()
    account = db.session.get(User, user.id)
    assert account.check_password(PASSWORD) and account.deleted_at is None


def test_right_current_password_is_not_counted(client, make_user, login):
    user = make_user(email="eva@example.nl")
    login(user)
    password = PASSWORD
    for n in range(12):
        new = f"nieuw-wachtwoord-{n:02d}"
        response = client.post(
            "/auth/password",
            data={"current_password": password, "password": new, "password_confirm": new},
        )
        assert response.status_code == 302, n
        password = new
