"""Evaluation after the last session: one request per person, one answer per request."""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bbtraining.bookings.attendance import marking, sheet
from bbtraining.bookings.evaluation import answers, rounds
from bbtraining.bookings.evaluation.models import (
    EvaluationRequest,
    EvaluationResponse,
    EvaluationRound,
)
from bbtraining.bookings.evaluation.tasks import send_due_evaluation_requests
from bbtraining.bookings.inhouse.models import InhouseBooking, InhouseParticipant, InhouseSession
from bbtraining.bookings.sessions.participants import Participant
from bbtraining.courses.models import TrainingSession
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.bookings.plain_providers import registered_participants
from tests.conftest import outbox_to

HOUR = timedelta(hours=1)


@pytest.fixture
def attendees():
    yield from registered_participants()


@pytest.fixture
def finished_edition(make_edition, make_user):
    """A two-day edition whose last session ended three hours ago, with Eva (an account) and
    Piet (no account) as participants."""

    def factory(**fields):
        trainer = fields.pop("trainer", None) or make_user(
            "trainer", email="trainer@example.nl", name="Tineke Trainer"
        )
        edition = make_edition(days=2, start_in_days=-3, trainer=trainer, **fields)
        last = edition.sessions[-1]
        now = datetime.now(UTC)
        last.starts_at, last.ends_at = now - 6 * HOUR, now - 3 * HOUR
        db.session.commit()
        return edition

    return factory


@pytest.fixture
def eva(make_user):
    return make_user(email="eva@example.nl", name="Eva Jansen")


@pytest.fixture
def two_people(attendees, eva):
    attendees.add(Participant(key="enrollment:1", email=eva.email, name=eva.name, user_id=eva.id))
    attendees.add(Participant(key="enrollment:2", email="piet@example.nl", name="Piet Post"))
    return attendees


def attend(sessions, *keys, status="present"):
    """The trainer marks these participants at these sessions, while the session runs."""
    for session in sessions:
        for key in keys:
            marking.mark(session, key, status, by=None, now=session.starts_at)
    db.session.commit()


def link_in(row) -> str:
    match = re.search(r"http://bbtraining\.test(/evaluation/\S+)", row.text_body)
    assert match, row.text_body
    return match.group(1)


def response_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(EvaluationResponse.id)))


def test_each_participant_gets_one_request_after_the_last_session(finished_edition, two_people):
    edition = finished_edition()
    attend(edition.sessions, "enrollment:1", "enrollment:2")
    assert send_due_evaluation_requests() == 1
    assert send_due_evaluation_requests() == 0  # the next beat: nothing again
    [eva_mail] = outbox_to("eva@example.nl")
    [piet_mail] = outbox_to("piet@example.nl")
    assert outbox_to("trainer@example.nl") == []
    assert eva_mail.subject == f"Hoe was {edition.course.title}?"
    assert "rapportcijfer" in eva_mail.text_body
    assert link_in(eva_mail) != link_in(piet_mail)
    [evaluation_round] = db.session.scalars(select(EvaluationRound)).all()
    assert evaluation_round.group_key == f"edition:{edition.id}"
    assert [t.email for t in evaluation_round.trainers] == ["trainer@example.nl"]
    assert len(evaluation_round.requests) == 2


def test_no_request_before_the_last_session_has_ended(make_edition, make_user, two_people, app):
    edition = make_edition(days=2, start_in_days=-1, trainer=make_user("trainer"))
    now = datetime.now(UTC)
    first, last = edition.sessions
    first.starts_at, first.ends_at = now - 30 * HOUR, now - 26 * HOUR  # day one is over
    last.starts_at, last.ends_at = now - HOUR, now + 3 * HOUR  # day two is running
    db.session.commit()
    attend([first], "enrollment:1")
    assert send_due_evaluation_requests() == 0
    # Just after the end, within the delay: still nothing.
    assert send_due_evaluation_requests(now + 3 * HOUR + timedelta(minutes=5)) == 0
    delay = app.config["EVALUATION_DELAY_HOURS"]
    assert send_due_evaluation_requests(now + (3 + delay) * HOUR + timedelta(minutes=5)) == 1


def test_cancelled_and_long_finished_editions_are_not_evaluated(finished_edition, two_people):
    cancelled = finished_edition()
    cancelled.status = "cancelled"
    db.session.commit()
    assert send_due_evaluation_requests() == 0
    finished = finished_edition(trainer=cancelled.trainers[0])
    # A month later it is too late to ask (no surprise mail about an old training).
    assert send_due_evaluation_requests(datetime.now(UTC) + timedelta(days=30)) == 0
    assert send_due_evaluation_requests() == 1
    assert db.session.scalars(select(EvaluationRound.group_key)).all() == [f"edition:{finished.id}"]


def test_inhouse_booking_is_one_group_with_the_client_contact(
    make_course, make_user, make_organisation, attendees
):
    course = make_course(kind="masterclass", delivery="inhouse")
    trainer = make_user("trainer", email="trainer@example.nl")
    now = datetime.now(UTC)
    booking = InhouseBooking(
        course=course,
        organisation=make_organisation(),
        contact_name="Griffier",
        contact_email="griffie@example.nl",
        expected_participants=12,
        delivery_mode="online",
        status="scheduled",
    )
    member = InhouseParticipant(name="R", email="raadslid@example.nl")
    booking.participants.append(member)
    db.session.add(booking)

    def session(starts_at, booked=False):
        s = TrainingSession(
            course=course, starts_at=starts_at, ends_at=starts_at + 3 * HOUR, trainer=trainer
        )
        db.session.add(s)
        if booked:
            db.session.add(InhouseSession(booking=booking, session=s))
        db.session.commit()
        return s

    first = session(now - 10 * 24 * HOUR, booked=True)
    second = session(now + 5 * 24 * HOUR, booked=True)
    standalone = session(now - 8 * HOUR)
    attendees.add(Participant(key="losse:1", email="los@example.nl", name="Los"), standalone)
    attend([first], f"inhouse:{booking.id}:{member.id}", f"inhouse:{booking.id}:contact")
    attend([standalone], "losse:1")

    # The booking's second session is still to come: only the standalone session is done.
    assert send_due_evaluation_requests() == 1
    assert db.session.scalars(select(EvaluationRound.group_key)).all() == [
        f"session:{standalone.id}"
    ]
    assert outbox_to("griffie@example.nl") == []

    later = now + 6 * 24 * HOUR
    assert send_due_evaluation_requests(later) == 1
    booking_round = db.session.scalar(
        select(EvaluationRound).where(EvaluationRound.group_key == f"inhouse:{booking.id}")
    )
    assert booking_round.first_starts_at == first.starts_at
    assert booking_round.last_ends_at == second.ends_at
    assert sorted(r.email for r in booking_round.requests) == [
        "griffie@example.nl",
        "raadslid@example.nl",
    ]
    assert len(outbox_to("griffie@example.nl")) == 1
    assert len(outbox_to("raadslid@example.nl")) == 1


def test_concurrent_sweeps_open_the_round_once(app, finished_edition, two_people):
    edition = finished_edition()
    attend(edition.sessions[:1], "enrollment:1", "enrollment:2")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    opened: list[int] = []

    def sweep():
        try:
            with app.app_context():
                groups = rounds.due_groups(datetime.now(UTC))
                assert len(groups) == 1
                barrier.wait(timeout=30)  # both believe the round is still to be opened
                count = 0
                for group in groups:
                    try:
                        rounds.open_round(group)
                        db.session.commit()
                        count += 1
                    except IntegrityError:
                        db.session.rollback()
                opened.append(count)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(opened) == [0, 1]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(EvaluationRound.id))) == 1
    assert len(outbox_to("eva@example.nl")) == 1
    assert len(outbox_to("piet@example.nl")) == 1


# -- the form ----------------------------------------------------------------------------------
@pytest.fixture
def links(finished_edition, two_people):
    edition = finished_edition()
    attend(edition.sessions[-1:], "enrollment:1", "enrollment:2")
    send_due_evaluation_requests()
    return {
        "eva": link_in(outbox_to("eva@example.nl")[0]),
        "piet": link_in(outbox_to("piet@example.nl")[0]),
    }


def test_answer_once_without_an_account(client, links):
    page = client.get(links["piet"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Welk rapportcijfer geeft u deze training?" in text
    assert "Piet Post" in text

    response = client.post(
        links["piet"],
        data={"grade": "8", "went_well": "Veel geoefend", "could_be_better": "Langere pauze"},
    )
    assert response.status_code == 302
    [answer] = db.session.scalars(select(EvaluationResponse)).all()
    assert (answer.grade, answer.went_well, answer.could_be_better) == (
        8,
        "Veel geoefend",
        "Langere pauze",
    )
    assert answer.request.email == "piet@example.nl"

    thanks = client.get(links["piet"])
    assert thanks.status_code == 200
    assert "Bedankt voor uw beoordeling" in thanks.get_data(as_text=True)

    second = client.post(links["piet"], data={"grade": "3"})
    assert second.status_code == 400
    assert "U heeft deze training al beoordeeld" in second.get_data(as_text=True)
    assert response_count() == 1
    db.session.refresh(answer)
    assert answer.grade == 8


@pytest.mark.parametrize("grade", ["0", "11", "acht", "", "7.5", "-1"])
def test_bad_grade_is_refused_in_dutch(client, links, grade):
    response = client.post(links["piet"], data={"grade": grade, "went_well": "x"})
    assert response.status_code == 400
    assert "Kies een rapportcijfer van 1 tot en met 10." in response.get_data(as_text=True)
    assert response_count() == 0


def test_missing_grade_is_refused(client, links):
    response = client.post(links["piet"], data={"went_well": "Prima"})
    assert response.status_code == 400
    assert "Kies een rapportcijfer van 1 tot en met 10." in response.get_data(as_text=True)
    assert response_count() == 0


def test_overlong_text_is_refused(client, links):
    response = client.post(links["piet"], data={"grade": "7", "went_well": "a" * 2001})
    assert response.status_code == 400
    assert "hoogstens 2000 tekens" in response.get_data(as_text=True)
    assert response_count() == 0


def test_tampered_link_is_refused(client, links):
    token = links["piet"].rsplit("/", 1)[1]
    for bad in (token[:-2] + "xx", "niet-een-link", token.replace(".", "", 1)):
        for method in (client.get, client.post):
            kwargs = {"data": {"grade": "9"}} if method == client.post else {}
            response = method(f"/evaluation/{bad}", **kwargs)
            assert response.status_code == 400
            assert "Deze link is ongeldig" in response.get_data(as_text=True)
    assert response_count() == 0


def test_link_to_a_deleted_request_is_refused(client, links):
    db.session.execute(
        EvaluationRequest.__table__.delete().where(EvaluationRequest.email == "piet@example.nl")
    )
    db.session.commit()
    response = client.get(links["piet"])
    assert response.status_code == 400
    assert "Deze link is ongeldig" in response.get_data(as_text=True)


def test_expired_link_is_refused(app, client, links):
    app.config["EVALUATION_LINK_MAX_AGE"] = -1
    try:
        response = client.post(links["piet"], data={"grade": "9"})
    finally:
        app.config["EVALUATION_LINK_MAX_AGE"] = 60 * 24 * 3600
    assert response.status_code == 400
    assert "Deze link is verlopen" in response.get_data(as_text=True)
    assert response_count() == 0


def test_someone_elses_link_is_refused(client, links, make_user, login):
    login(make_user(email="ander@example.nl"))
    page = client.get(links["eva"])
    assert page.status_code == 403
    assert "Deze link is voor iemand anders bedoeld" in page.get_data(as_text=True)
    response = client.post(links["eva"], data={"grade": "2"})
    assert response.status_code == 403
    assert response_count() == 0


def test_own_link_works_when_signed_in(client, links, eva, login):
    login(eva)
    assert client.post(links["eva"], data={"grade": "10"}).status_code == 302
    assert response_count() == 1


def test_post_without_csrf_token_changes_nothing(client, links):
    response = client.post(links["piet"], data={"grade": "9"}, csrf=False)
    assert response.status_code == 400
    assert response_count() == 0


def test_submit_twice_at_once_is_stopped_by_the_database(links):
    """The service refuses a second answer; if two submits race past that check, the UNIQUE
    request_id stops the second."""
    request = db.session.scalar(
        select(EvaluationRequest).where(EvaluationRequest.email == "piet@example.nl")
    )
    db.session.add(EvaluationResponse(request_id=request.id, grade=7))
    db.session.commit()
    db.session.add(EvaluationResponse(request_id=request.id, grade=4))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(DomainError, match="al beoordeeld"):
        answers.submit_evaluation(request, grade=5, went_well="", could_be_better="")


# -- results -----------------------------------------------------------------------------------
@pytest.fixture
def answered(client, links):
    client.post(links["eva"], data={"grade": "9", "went_well": "Duidelijke uitleg"})
    client.post(links["piet"], data={"grade": "6", "could_be_better": "Meer oefenen"})
    assert response_count() == 2


def test_staff_see_averages_per_course_edition_and_trainer(client, answered, make_user, login):
    login(make_user("admin"))
    page = client.get("/admin/evaluations/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Per training" in text and "Per trainer" in text and "Per editie of boeking" in text
    assert text.count("7,5") >= 3  # the course, the trainer and the edition all average 7,5
    assert "Tineke Trainer" in text

    evaluation_round = db.session.scalar(select(EvaluationRound))
    detail = client.get(f"/admin/evaluations/{evaluation_round.id}").get_data(as_text=True)
    assert "Duidelijke uitleg" in detail and "Meer oefenen" in detail
    assert "Piet Post" in detail  # staff see who said what

    tile = client.get("/admin/").get_data(as_text=True)
    assert "Evaluaties" in tile and "7,5" in tile


def test_trainers_see_their_own_results_without_names(client, answered, login):
    from bbtraining.auth.models import User

    trainer = User.by_email("trainer@example.nl")
    login(trainer)
    dashboard = client.get("/account/").get_data(as_text=True)
    assert "Evaluaties van uw trainingen" in dashboard
    assert "7,5" in dashboard
    evaluation_round = db.session.scalar(select(EvaluationRound))
    detail = client.get(f"/account/evaluations/{evaluation_round.id}")
    assert detail.status_code == 200
    text = detail.get_data(as_text=True)
    assert "Meer oefenen" in text
    assert "Piet Post" not in text and "piet@example.nl" not in text


def test_other_trainers_and_participants_see_nothing(client, answered, make_user, login):
    evaluation_round = db.session.scalar(select(EvaluationRound))
    other = make_user("trainer", email="ander@example.nl")
    login(other)
    assert client.get(f"/account/evaluations/{evaluation_round.id}").status_code == 404
    assert "Evaluaties van uw trainingen" not in client.get("/account/").get_data(as_text=True)
    assert client.get("/admin/evaluations/").status_code == 403


# -- only those who attended -------------------------------------------------------------------
@pytest.fixture
def attended_edition(make_edition, make_enrollment, make_user):
    """A two-day edition with real (invoice) enrollments, run and marked: Anna present both days,
    Bram present on day one only, Cor absent, Dirk excused, Els absent on day one and excused on
    day two, Fenna never marked. The last day ended three hours ago."""
    trainer = make_user("trainer", email="trainer@example.nl", name="Tineke Trainer")
    edition = make_edition(days=2, start_in_days=10, trainer=trainer)
    names = ("anna", "bram", "cor", "dirk", "els", "fenna")
    people = {n: make_user("facilitator", email=f"{n}@example.nl", name=n.title()) for n in names}
    for person in people.values():
        make_enrollment(edition, person)
    now = datetime.now(UTC)
    first, last = edition.sessions
    first.starts_at, first.ends_at = now - 30 * HOUR, now - 27 * HOUR
    last.starts_at, last.ends_at = now - 6 * HOUR, now - 3 * HOUR
    db.session.commit()
    keys = {row.participant.user_id: row.key for row in sheet.build_sheet(first).rows}
    key = {n: keys[p.id] for n, p in people.items()}
    attend([first, last], key["anna"])
    attend([first], key["bram"])
    attend([last], key["bram"], status="absent")
    attend([first, last], key["cor"], status="absent")
    attend([first, last], key["dirk"], status="excused")
    attend([first], key["els"], status="absent")
    attend([last], key["els"], status="excused")
    return edition, people, key


def evaluation_mails(email: str):
    return [m for m in outbox_to(email) if m.subject.startswith("Hoe was")]


def test_only_those_marked_present_get_an_evaluation_request(attended_edition):
    edition, people, _key = attended_edition
    assert send_due_evaluation_requests() == 1
    asked = {email for email in (p.email for p in people.values()) if evaluation_mails(email)}
    assert asked == {"anna@example.nl", "bram@example.nl"}
    for email in ("cor@example.nl", "dirk@example.nl", "els@example.nl", "fenna@example.nl"):
        assert evaluation_mails(email) == []
    assert evaluation_mails("trainer@example.nl") == []
    [evaluation_round] = db.session.scalars(select(EvaluationRound)).all()
    assert evaluation_round.group_key == f"edition:{edition.id}"
    assert sorted(r.email for r in evaluation_round.requests) == [
        "anna@example.nl",
        "bram@example.nl",
    ]

    # The next beats send nothing again, to anyone.
    assert send_due_evaluation_requests() == 0
    assert send_due_evaluation_requests(datetime.now(UTC) + HOUR) == 0
    assert [len(evaluation_mails(p.email)) for p in people.values()] == [1, 1, 0, 0, 0, 0]


def test_attendance_marked_after_the_round_opened_still_counts(attended_edition):
    edition, people, key = attended_edition
    assert send_due_evaluation_requests() == 1
    # The trainer fills in the forgotten mark the next morning, and corrects Cor's.
    first = edition.sessions[0]
    marking.mark(first, key["fenna"], "present", by=None, now=datetime.now(UTC))
    marking.mark(first, key["cor"], "present", by=None, now=datetime.now(UTC))
    # Dirk stays excused; Anna is marked on day one again (nothing changes for her).
    marking.mark(first, key["anna"], "present", by=None, now=datetime.now(UTC))
    db.session.commit()

    assert send_due_evaluation_requests() == 0  # no new round ...
    assert len(evaluation_mails("fenna@example.nl")) == 1  # ... but the late ones are asked
    assert len(evaluation_mails("cor@example.nl")) == 1
    assert evaluation_mails("dirk@example.nl") == []
    assert len(evaluation_mails("anna@example.nl")) == 1
    send_due_evaluation_requests()
    assert [len(evaluation_mails(p.email)) for p in people.values()] == [1, 1, 1, 0, 0, 1]
    [evaluation_round] = db.session.scalars(select(EvaluationRound)).all()
    assert len(evaluation_round.requests) == 4
