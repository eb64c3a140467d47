"""Many people enrolling at once into few seats, each request on its own connection.

Every thread drives its own test client, so each request runs in its own app context with its
own session and database connection and commits on its own, as gunicorn workers would.
"""

import threading
import traceback

from sqlalchemy import func, select

from bbtraining.bookings.enrollment.models import Enrollment, WaitlistEntry
from bbtraining.courses.models import Edition
from bbtraining.extensions import db
from tests.bookings.conftest import BILLING_FORM
from tests.conftest import CSRFClient


def _signed_in_client(app, user) -> CSRFClient:
    app.test_client_class = CSRFClient
    client = app.test_client()
    # Straight into the session: the login form's rate limit would refuse a crowd from one IP.
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


def _race(app, edition_id: int, users: list) -> list[tuple[int, str]]:
    clients = [_signed_in_client(app, user) for user in users]
    tokens = [client._token() for client in clients]
    start = threading.Barrier(len(clients))
    results: list[tuple[int, str] | None] = [None] * len(clients)

    def attempt(i: int) -> None:
        start.wait()
        try:
            response = clients[i].post(
                f"/editions/{edition_id}/enroll",
                data={**BILLING_FORM, "csrf_token": tokens[i]},
            )
            results[i] = (response.status_code, response.get_data(as_text=True))
        except Exception:  # reported in the assertion below
            results[i] = (-1, traceback.format_exc())

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [r if r is not None else (-2, "thread did not finish") for r in results]


def _run(app, make_edition, make_user, *, people: int, capacity: int):
    edition = make_edition(capacity=capacity)
    users = [make_user("facilitator") for _ in range(people)]
    results = _race(app, edition.id, users)
    statuses = sorted(status for status, _body in results)
    assert statuses == [302] * capacity + [409] * (people - capacity), [
        (s, b[-1500:]) for s, b in results if s not in (302, 409)
    ]
    for status, body in results:
        if status == 409:
            assert "Deze editie is vol" in body and "Zet mij op de wachtlijst" in body
    db.session.expire_all()
    confirmed = db.session.scalar(
        select(func.count(Enrollment.id)).where(Enrollment.status == "confirmed")
    )
    assert confirmed == capacity
    assert db.session.get(Edition, edition.id).seats_taken == capacity
    assert db.session.scalar(select(func.count(Enrollment.id))) == capacity
    return edition, users


def test_race_on_the_last_seats_over_http(app, make_edition, make_user):
    people, capacity = (24, 5) if db.engine.dialect.name == "postgresql" else (8, 3)
    edition, users = _run(app, make_edition, make_user, people=people, capacity=capacity)
    enrolled = set(db.session.scalars(select(Enrollment.user_id)))
    # Everyone who lost the race joins the waiting list, in the order they ask.
    for user in users:
        if user.id in enrolled:
            continue
        client = _signed_in_client(app, user)
        response = client.post(f"/editions/{edition.id}/waitlist", data={"seats": "1"})
        assert response.status_code == 302, response.data[:300]
    entries = db.session.scalars(select(WaitlistEntry).order_by(WaitlistEntry.id)).all()
    assert len(entries) == people - capacity
    assert {e.status for e in entries} == {"waiting"}


def test_double_submit_by_one_person_enrolls_once(app, make_edition, make_user):
    edition = make_edition(capacity=5)
    user = make_user("facilitator")
    results = _race(app, edition.id, [user] * 6)
    statuses = sorted(status for status, _body in results)
    assert statuses.count(302) == 1, [(s, b[:300]) for s, b in results]
    assert set(statuses) <= {302, 409}, [(s, b[-1500:]) for s, b in results if s < 0]
    for status, body in results:
        if status == 409:
            assert "U bent al ingeschreven voor deze editie" in body
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Enrollment.id))) == 1
    assert db.session.get(Edition, edition.id).seats_taken == 1
