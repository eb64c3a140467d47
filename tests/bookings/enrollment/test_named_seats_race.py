"""Named seats under concurrency, each request on its own connection (as gunicorn workers):
renaming never makes more people than seats, and groups never take more than the capacity."""

import threading
import traceback

from sqlalchemy import func, select

from bbtraining.bookings.enrollment.models import Enrollment, EnrollmentSeat
from bbtraining.bookings.sessions.invites import CalendarInvite
from bbtraining.courses.models import Edition
from bbtraining.extensions import db
from tests.bookings.conftest import BILLING_FORM
from tests.bookings.enrollment.test_enroll_race import _signed_in_client


def _all_at_once(clients, requests) -> list[tuple[int, str]]:
    tokens = [client._token() for client in clients]
    start = threading.Barrier(len(clients))
    results: list = [None] * len(clients)

    def attempt(i: int) -> None:
        url, data = requests[i]
        start.wait()
        try:
            response = clients[i].post(url, data={**data, "csrf_token": tokens[i]})
            results[i] = (response.status_code, response.get_data(as_text=True))
        except Exception:  # reported in the caller's assertion
            results[i] = (-1, traceback.format_exc())

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [r if r is not None else (-2, "thread did not finish") for r in results]


def _group(seats: int, tag: str) -> dict:
    data = {**BILLING_FORM, "group_size": str(seats), "not_attending": "y"}
    for i in range(seats):
        data[f"colleagues-{i}-name"] = f"Collega {tag}{i}"
        data[f"colleagues-{i}-email"] = f"c{tag}{i}@gemeente.nl"
    return data


def test_concurrent_replacements_of_one_seat_leave_one_person_in_it(
    app, make_edition, make_user, billing_form
):
    edition = make_edition(capacity=3, days=1)
    booker = make_user("client", email="griffie@gemeente.nl")
    first = _signed_in_client(app, booker)
    assert first.post(f"/editions/{edition.id}/enroll", data=_group(3, "a")).status_code == 302
    enrollment_id = db.session.scalar(select(Enrollment.id))
    people = 8 if db.engine.dialect.name == "postgresql" else 4
    clients = [_signed_in_client(app, booker) for _ in range(people)]
    url = f"/enrollments/{enrollment_id}/seats/2"
    requests = [
        (url, {"seat2-name": f"Nieuw {i}", "seat2-email": f"nieuw{i}@gemeente.nl"})
        for i in range(people)
    ]
    results = _all_at_once(clients, requests)
    assert all(status in (302, 400, 409) for status, _ in results), [
        (s, b[-1500:]) for s, b in results
    ]
    assert any(status == 302 for status, _ in results)
    db.session.expire_all()
    active = db.session.scalars(
        select(EnrollmentSeat).where(
            EnrollmentSeat.enrollment_id == enrollment_id, EnrollmentSeat.status == "active"
        )
    ).all()
    assert sorted(seat.position for seat in active) == [1, 2, 3]
    assert db.session.get(Edition, edition.id).seats_taken == 3
    # Exactly one live invite per seat: the last person put in seat 2 holds it.
    live = db.session.scalars(
        select(CalendarInvite.email).where(CalendarInvite.status == "active")
    ).all()
    assert sorted(live) == sorted(seat.email for seat in active)


def test_groups_racing_for_the_last_seats_never_overbook(app, make_edition, make_user):
    bookers = 6 if db.engine.dialect.name == "postgresql" else 3
    edition = make_edition(capacity=7, days=1)
    users = [make_user("client") for _ in range(bookers)]
    clients = [_signed_in_client(app, user) for user in users]
    url = f"/editions/{edition.id}/enroll"
    results = _all_at_once(clients, [(url, _group(3, f"g{i}x")) for i in range(bookers)])
    statuses = sorted(status for status, _ in results)
    assert statuses == [302, 302] + [409] * (bookers - 2), [(s, b[-1500:]) for s, b in results]
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).seats_taken == 6
    assert db.session.scalar(select(func.count(EnrollmentSeat.id))) == 6
