"""/account/ costs the same number of queries whatever the number of rows on it: the trainer's
past sessions (with who was on each sheet, however they came: an enrollment, an inhouse
booking's list, a guest added on the spot) and a facilitator's places on waiting lists."""

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from bbtraining.auth.models import User
from bbtraining.bookings.attendance import guests, marking
from bbtraining.bookings.enrollment import waitlist
from bbtraining.bookings.inhouse import participants
from bbtraining.db_types import utcnow
from bbtraining.extensions import db
from tests.bookings.inhouse.conftest import InhouseKit


@contextmanager
def _counting():
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _dashboard(client) -> tuple[int, str]:
    """The queries of one rendering of /account/, the personal page cache off."""
    client.get("/account/")  # the first request may create the CSRF token
    db.session.expunge_all()
    with _counting() as statements:
        response = client.get("/account/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers.get("X-Personal-Cache") is None
    return len(statements), response.get_data(as_text=True)


def _into_the_past(sessions) -> None:
    shift = max(s.ends_at for s in sessions) - utcnow() + timedelta(days=2)
    for session in sessions:
        session.starts_at -= shift
        session.ends_at -= shift
    db.session.commit()


def _no_personal_cache(app):
    app.config["PERSONAL_CACHE_SECONDS"] = 0
    app.extensions["personal_cache"].seconds = 0


def _personal_cache_back(app):
    app.config["PERSONAL_CACHE_SECONDS"] = 10
    app.extensions["personal_cache"].seconds = 10


def test_the_trainers_past_sessions_cost_no_query_each(
    app, client, login, make_course, make_user, make_organisation, make_edition, make_enrollment
):
    kit = InhouseKit(make_course, make_user, make_organisation)
    trainer_id = kit.trainer.id
    numbers = iter(range(1, 100))

    def past_sessions_with_people() -> None:
        """An edition's session with two enrolled, and an inhouse session with its contact,
        one listed participant and a guest; one person marked present on each."""
        n = next(numbers)
        # Rendering the page emptied the session (as a browser's next request starts empty).
        trainer = kit._trainer = db.session.get(User, trainer_id)
        edition = make_edition(trainer=trainer, days=1)
        enrolled = [make_enrollment(edition, make_user("facilitator")) for _ in range(2)]
        booking = kit.scheduled(kit.client_user())
        participants.add_participant(
            booking, name=f"Lid {n}", email=f"lid{n}@example.nl", by=booking.requested_by
        )
        db.session.commit()
        _into_the_past([*edition.sessions, *booking.sessions])
        inhouse_session = booking.sessions[0]
        guests.add_guest(
            inhouse_session, name=f"Gast {n}", email=f"gast{n}@example.nl", role="", by=trainer
        )
        marking.mark(edition.sessions[0], f"enrollment:{enrolled[0].id}", "present", by=trainer)
        marking.mark(inhouse_session, f"inhouse:{booking.id}:contact", "present", by=trainer)
        db.session.commit()

    _no_personal_cache(app)
    try:
        past_sessions_with_people()
        login(kit.trainer)
        before, page = _dashboard(client)
        assert page.count("1 van 2 genoteerd") == 1  # the edition's session
        assert page.count("1 van 3 genoteerd") == 1  # contact, listed participant, guest
        for _ in range(2):
            past_sessions_with_people()
        after, page = _dashboard(client)
        assert page.count("1 van 2 genoteerd") == 3
        assert page.count("1 van 3 genoteerd") == 3
    finally:
        _personal_cache_back(app)
    assert after == before, (before, after)
    # 24 with six past sessions (was 74: the sheet of each past session asked every provider).
    assert after <= 24, after


def test_places_on_waiting_lists_cost_no_query_each(
    app, client, login, make_user, full_edition, make_edition, make_enrollment
):
    person_id = make_user("facilitator", email="wachtend@example.nl").id

    def waiting_second_in_line() -> None:
        person = db.session.get(User, person_id)
        edition = full_edition()
        waitlist.join_waitlist(edition, make_user("facilitator"))
        waitlist.join_waitlist(edition, person)
        make_enrollment(make_edition(), person)
        db.session.commit()

    _no_personal_cache(app)
    try:
        waiting_second_in_line()
        login(db.session.get(User, person_id))
        before, page = _dashboard(client)
        assert page.count("plaats 2 op de wachtlijst") == 1
        for _ in range(2):
            waiting_second_in_line()
        after, page = _dashboard(client)
        assert page.count("plaats 2 op de wachtlijst") == 3
    finally:
        _personal_cache_back(app)
    assert after == before, (before, after)


def test_waitlist_positions_follow_the_queue(full_edition, make_user):
    """Positions counted for many entries at once are those of one at a time."""
    edition, other = full_edition(), full_edition()
    people = [make_user("facilitator") for _ in range(3)]
    entries = [waitlist.join_waitlist(edition, p) for p in people]
    entries.append(waitlist.join_waitlist(other, people[0]))
    db.session.commit()
    waitlist.leave_waitlist(entries[0], by=people[0])
    db.session.commit()
    positions = waitlist.waitlist_positions(entries)
    assert positions == {
        entries[0].id: None,
        entries[1].id: 1,
        entries[2].id: 2,
        entries[3].id: 1,
    }
    assert positions == {e.id: waitlist.waitlist_position(e) for e in entries}


def test_a_participants_attendance_costs_no_query_per_session(
    app, client, login, make_user, make_edition, make_enrollment
):
    person_id = make_user("facilitator", email="aanwezig@example.nl").id
    trainer_id = make_user("trainer").id

    def present_at_a_past_session() -> None:
        person, trainer = db.session.get(User, person_id), db.session.get(User, trainer_id)
        edition = make_edition(trainer=trainer, days=1)
        enrollment = make_enrollment(edition, person)
        _into_the_past(edition.sessions)
        marking.mark(edition.sessions[0], f"enrollment:{enrollment.id}", "present", by=trainer)
        db.session.commit()

    _no_personal_cache(app)
    try:
        present_at_a_past_session()
        login(db.session.get(User, person_id))
        before, page = _dashboard(client)
        assert page.count("Aanwezig") >= 1
        for _ in range(2):
            present_at_a_past_session()
        after, page = _dashboard(client)
        assert page.split("Uw aanwezigheid")[1].count("<tr>") == 4  # the header and three rows
    finally:
        _personal_cache_back(app)
    assert after == before, (before, after)
