"""The catalog's rules, called as the admin views call them: each refusal changes nothing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bbtraining.audit import AuditEntry
from bbtraining.courses import courses, editions, trainers
from bbtraining.courses.courses import CourseInput
from bbtraining.courses.editions import EditionInput
from bbtraining.courses.models import Course, Edition, TrainingSession
from bbtraining.courses.trainers import Slot
from bbtraining.errors import DomainError
from bbtraining.extensions import db
from tests.courses.conftest import in_days, local


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _slot(day: int, start: str = "09:30", end: str = "16:30") -> Slot:
    return Slot(local(in_days(day), start), local(in_days(day), end))


def _course_input(**overrides) -> CourseInput:
    values = {
        "title": "Masterclass loting en representativiteit",
        "kind": "masterclass",
        "audience": "civil-servants",
        "delivery": "inhouse",
        "phases": ["voorbereiding"],
        "price_inhouse": Decimal("2450.00"),
    }
    values.update(overrides)
    return CourseInput(**values)


def _refused(action, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        action()
    db.session.rollback()


# -- courses -------------------------------------------------------------------------------------
def test_create_course_derives_a_free_slug_and_starts_unpublished():
    first = courses.create_course(_course_input(title="Masterclass: Één vraag!"))
    second = courses.create_course(_course_input(title="Masterclass: één vraag"))
    db.session.commit()
    assert first.slug == "masterclass-een-vraag"
    assert second.slug == "masterclass-een-vraag-2"
    assert not first.published and first.phases == ["voorbereiding"]
    assert len(_audit("course.created")) == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slug": "Met Spaties"}, "kleine letters, cijfers en streepjes"),
        ({"phases": []}, "minstens één fase"),
        ({"phases": ["afronding"]}, "minstens één fase"),
        ({"kind": "webinar"}, "bestaande soort"),
        ({"max_group_size": 0}, "groepsgrootte moet minstens 1"),
        ({"price_inhouse": Decimal("-1")}, "niet negatief"),
        ({"title": "  "}, "titel"),
    ],
)
def test_create_course_refusals_change_nothing(overrides, message):
    _refused(lambda: courses.create_course(_course_input(**overrides)), message)
    assert _count(Course) == 0
    assert _audit("course.created") == []


def test_slug_taken_is_refused(make_course):
    make_course(slug="bestaand")
    _refused(lambda: courses.create_course(_course_input(slug="bestaand")), "al een training")
    assert _count(Course) == 1


def test_publish_without_price_refused_then_allowed(make_course):
    course = make_course(delivery="both", price_seat=None, published=False)
    _refused(lambda: courses.publish_course(course), "prijs per deelnemer")
    assert not db.session.get(Course, course.id).published
    assert _audit("course.published") == []
    course = db.session.get(Course, course.id)
    course.price_seat = Decimal("395")
    courses.publish_course(course)
    db.session.commit()
    assert course.published and len(_audit("course.published")) == 1
    courses.unpublish_course(course)
    assert not course.published


def test_published_course_keeps_slug_and_price(make_course):
    course = make_course(slug="vaste-link", delivery="inhouse", price_seat=None)
    _refused(
        lambda: courses.update_course(course, _course_input(slug="nieuwe-link")),
        "webadres van een gepubliceerde training",
    )
    _refused(
        lambda: courses.update_course(course, _course_input(price_inhouse=None)),
        "prijs per sessie",
    )
    course = db.session.get(Course, course.id)
    assert course.slug == "vaste-link" and course.price_inhouse == Decimal("1000.00")
    courses.update_course(course, _course_input(title="Nieuwe titel"))
    db.session.commit()
    assert db.session.get(Course, course.id).title == "Nieuwe titel"
    [entry] = _audit("course.updated")
    assert entry.data["changes"]["title"][1] == "Nieuwe titel"


def test_open_course_with_editions_cannot_become_inhouse_only(make_edition):
    edition = make_edition()
    _refused(
        lambda: courses.update_course(edition.course, _course_input(delivery="inhouse")),
        "geplande edities",
    )
    assert db.session.get(Course, edition.course_id).delivery == "open"


# -- scheduling ----------------------------------------------------------------------------------
def test_schedule_multi_day_edition(make_course, make_user):
    course = make_course(delivery="open", price_inhouse=None)
    trainer = make_user("trainer", name="Joost Bakker")
    edition = editions.schedule_edition(
        course,
        EditionInput(
            capacity=16,
            slots=[_slot(22), _slot(21), _slot(29, "13:00", "17:00")],
            trainers=[trainer],
            location="Zwolle, Stadshuis",
        ),
    )
    db.session.commit()
    edition = db.session.get(Edition, edition.id)
    assert [s.local_start.strftime("%H:%M") for s in edition.sessions] == [
        "09:30",
        "09:30",
        "13:00",
    ]
    assert edition.sessions[0].local_start.date() == in_days(21)  # sorted by time
    assert all(
        s.trainer_id == trainer.id and s.location == "Zwolle, Stadshuis" for s in edition.sessions
    )
    assert edition.trainers == [trainer] and edition.seats_taken == 0
    [entry] = _audit("edition.scheduled")
    assert entry.object_id == edition.id and len(entry.data["sessions"]) == 3


def test_slot_local_times_are_amsterdam_time_across_dst():
    winter = Slot.local(datetime(2027, 1, 14).date(), *[datetime(2027, 1, 1, 9, 30).time()] * 2)
    summer = Slot.local(datetime(2027, 6, 14).date(), *[datetime(2027, 1, 1, 9, 30).time()] * 2)
    assert winter.starts_at.astimezone(UTC).hour == 8
    assert summer.starts_at.astimezone(UTC).hour == 7


@pytest.mark.parametrize(
    ("slots", "overrides", "message"),
    [
        (lambda: [_slot(20, "16:00", "09:00")], {}, "eindtijd moet na de begintijd"),
        (lambda: [_slot(20, "10:00", "10:00")], {}, "eindtijd moet na de begintijd"),
        (lambda: [_slot(-2)], {}, "in het verleden"),
        (lambda: [], {}, "minstens één sessie"),
        (lambda: [_slot(20), _slot(20, "12:00", "18:00")], {}, "overlappen elkaar"),
        (lambda: [_slot(20)], {"capacity": 0}, "capaciteit moet minstens 1"),
        (lambda: [_slot(20)], {"location": "", "online_url": ""}, "locatie of een online link"),
        (
            lambda: [_slot(20)],
            {"enrollment_deadline": local(in_days(21), "09:00")},
            "deadline moet vóór de eerste sessie",
        ),
    ],
)
def test_schedule_refusals_change_nothing(make_course, slots, overrides, message):
    course = make_course(delivery="open")
    values = {"capacity": 12, "slots": slots(), "location": "Utrecht"}
    values.update(overrides)
    _refused(lambda: editions.schedule_edition(course, EditionInput(**values)), message)
    assert _count(Edition) == 0 and _count(TrainingSession) == 0
    assert _audit("edition.scheduled") == []


def test_inhouse_only_course_has_no_editions(make_course):
    course = make_course(delivery="inhouse")
    _refused(
        lambda: editions.schedule_edition(
            course, EditionInput(capacity=10, slots=[_slot(20)], location="Utrecht")
        ),
        "alleen inhouse",
    )
    assert _count(Edition) == 0


def test_only_trainers_can_be_assigned(make_course, make_user):
    course = make_course(delivery="open")
    not_a_trainer = make_user("facilitator", name="Lotte Jansen")
    _refused(
        lambda: editions.schedule_edition(
            course,
            EditionInput(capacity=10, slots=[_slot(20)], location="U", trainers=[not_a_trainer]),
        ),
        "Lotte Jansen is geen actieve trainer",
    )
    assert _count(Edition) == 0


# -- trainer double booking ----------------------------------------------------------------------
def test_double_booking_against_another_edition(make_edition, make_course, make_user):
    trainer = make_user("trainer", name="Amira El Idrissi")
    make_edition(days=(20,), trainers=[trainer])
    course = make_course(delivery="open")

    def overlapping():
        editions.schedule_edition(
            course,
            EditionInput(
                capacity=10,
                slots=[_slot(19), _slot(20, "16:00", "18:00")],
                trainers=[trainer],
                location="Utrecht",
            ),
        )

    _refused(overlapping, "Amira El Idrissi geeft op dat moment al een sessie")
    assert _count(Edition) == 1
    # Back to back is fine: the first ends at 16:30, the next starts at 16:30.
    editions.schedule_edition(
        course,
        EditionInput(
            capacity=10, slots=[_slot(20, "16:30", "18:00")], trainers=[trainer], location="U"
        ),
    )
    assert _count(Edition) == 2


def test_double_booking_against_inhouse_session(make_course, make_user, make_inhouse_session):
    trainer = make_user("trainer", name="Joost Bakker")
    inhouse = make_inhouse_session(trainer, day=25, start="13:00", end="17:00")
    course = make_course(delivery="open")
    _refused(
        lambda: editions.schedule_edition(
            course,
            EditionInput(capacity=8, slots=[_slot(25)], trainers=[trainer], location="Utrecht"),
        ),
        f"Joost Bakker geeft op dat moment al een sessie: {inhouse.course.title}",
    )
    # Once the inhouse session is cancelled the trainer is free again.
    editions.cancel_session(db.session.get(TrainingSession, inhouse.id))
    editions.schedule_edition(
        db.session.get(Course, course.id),
        EditionInput(capacity=8, slots=[_slot(25)], trainers=[trainer], location="Utrecht"),
    )


def test_edition_trainer_counts_even_when_not_the_session_lead(make_edition, make_user):
    lead = make_user("trainer", name="Lead")
    second = make_user("trainer", name="Tweede Trainer")
    make_edition(days=(40,), trainers=[lead, second])
    conflicts = trainers.trainer_conflicts(second, [_slot(40, "10:00", "11:00")])
    assert len(conflicts) == 1
    assert trainers.trainer_conflicts(second, [_slot(41)]) == []


def test_assign_trainers_checks_double_booking(make_edition, make_user):
    trainer = make_user("trainer", name="Joost Bakker")
    make_edition(days=(30,), trainers=[trainer])
    other = make_edition(days=(30,), start="13:00", end="15:00")
    _refused(lambda: editions.assign_trainers(other, [trainer]), "Joost Bakker geeft op dat moment")
    assert db.session.get(Edition, other.id).trainers == []
    free = make_user("trainer", name="Vrije Trainer")
    other = db.session.get(Edition, other.id)
    editions.assign_trainers(other, [free])
    db.session.commit()
    other = db.session.get(Edition, other.id)
    assert other.trainers == [free] and other.sessions[0].trainer_id == free.id
    # Re-saving the same trainers does not count the edition against itself.
    editions.assign_trainers(other, [free])


def test_move_session_checks_double_booking(make_edition, make_user):
    trainer = make_user("trainer", name="Joost Bakker")
    make_edition(days=(30,), trainers=[trainer])
    moving = make_edition(days=(31,), trainers=[trainer]).sessions[0]
    _refused(lambda: editions.move_session(moving, _slot(30, "15:00", "18:00")), "Joost Bakker")
    moving = db.session.get(TrainingSession, moving.id)
    assert moving.local_start.date() == in_days(31) and moving.revision == 0


# -- sessions, capacity, duplicate, cancel -------------------------------------------------------
def test_move_session_bumps_revision_and_records_change(make_edition):
    session = make_edition(days=(30, 31)).sessions[1]
    editions.move_session(
        session, _slot(33, "10:00", "17:00"), location="Zaal 2", note="Zaal bezet"
    )
    db.session.commit()
    session = db.session.get(TrainingSession, session.id)
    assert session.revision == 1 and session.change_note == "Zaal bezet"
    assert session.local_start.date() == in_days(33) and session.location == "Zaal 2"
    [entry] = _audit("session.moved")
    assert entry.data["revision"] == 1 and entry.data["before"]["location"] == "Utrecht, Stadhuis"


@pytest.mark.parametrize(
    ("slot", "message"),
    [
        (lambda: _slot(33, "17:00", "10:00"), "eindtijd moet na de begintijd"),
        (lambda: _slot(-1), "in het verleden"),
        (lambda: _slot(30, "12:00", "13:00"), "overlapt met een andere sessie"),
        (lambda: _slot(31), "niets veranderd"),
    ],
)
def test_move_session_refusals_change_nothing(make_edition, slot, message):
    session = make_edition(days=(30, 31)).sessions[1]
    _refused(lambda: editions.move_session(session, slot()), message)
    session = db.session.get(TrainingSession, session.id)
    assert session.revision == 0 and session.local_start.date() == in_days(31)
    assert _audit("session.moved") == []


def test_cancel_session_records_and_refuses_twice(make_edition):
    session = make_edition().sessions[0]
    editions.cancel_session(session, "Trainer ziek")
    db.session.commit()
    assert session.is_cancelled and session.revision == 1
    _refused(lambda: editions.cancel_session(session), "al geannuleerd")
    assert len(_audit("session.cancelled")) == 1


def test_capacity_change(make_edition):
    edition = make_edition(capacity=12, seats_taken=9)
    _refused(lambda: editions.change_capacity(edition, 0), "capaciteit moet minstens 1")
    _refused(lambda: editions.change_capacity(edition, 8), "al 9 plaatsen bezet")
    assert db.session.get(Edition, edition.id).capacity == 12
    assert _audit("edition.capacity_changed") == []
    editions.change_capacity(db.session.get(Edition, edition.id), 9)
    db.session.commit()
    assert db.session.get(Edition, edition.id).capacity == 9
    [entry] = _audit("edition.capacity_changed")
    assert (entry.data["before"], entry.data["after"]) == (12, 9)


def test_capacity_change_sees_seats_taken_by_someone_else(make_edition):
    """A seat taken in another transaction after we loaded the edition still counts."""
    edition = make_edition(capacity=10, seats_taken=5)
    db.session.connection().execute(
        Edition.__table__.update().where(Edition.id == edition.id).values(seats_taken=8)
    )
    assert edition.seats_taken == 5  # stale in our session
    _refused(lambda: editions.change_capacity(edition, 6), "al 8 plaatsen bezet")


def test_duplicate_edition_shifts_sessions_keeping_local_times(make_edition, make_user):
    trainer = make_user("trainer")
    edition = make_edition(
        days=(30, 31, 37),
        trainers=[trainer],
        enrollment_deadline=local(in_days(23), "23:59"),
        price_seat=Decimal("99.00"),
    )
    copy = editions.duplicate_edition(edition, in_days(100))
    db.session.commit()
    copy = db.session.get(Edition, copy.id)
    assert [s.local_start.date() for s in copy.sessions] == [
        in_days(100),
        in_days(101),
        in_days(107),
    ]
    assert {s.local_start.strftime("%H:%M") for s in copy.sessions} == {"09:30"}
    assert {s.local_end.strftime("%H:%M") for s in copy.sessions} == {"16:30"}
    assert copy.enrollment_deadline.astimezone(edition.sessions[0].local_start.tzinfo).date() == (
        in_days(93)
    )
    assert copy.trainers == [trainer] and copy.seats_taken == 0 and copy.price_seat == Decimal("99")
    assert copy.id != edition.id and len(_audit("edition.duplicated")) == 1


def test_duplicate_across_daylight_saving_keeps_wall_clock(make_course):
    course = make_course(delivery="open")
    now = datetime(2027, 2, 1, tzinfo=UTC)
    winter = editions.schedule_edition(
        course,
        EditionInput(
            capacity=10,
            slots=[Slot.local(datetime(2027, 3, 11).date(), *_times("09:30", "16:30"))],
            location="Utrecht",
        ),
        now=now,
    )
    summer = editions.duplicate_edition(winter, datetime(2027, 4, 8).date(), now=now)
    start = summer.sessions[0]
    assert start.local_start.strftime("%Y-%m-%d %H:%M") == "2027-04-08 09:30"
    assert start.starts_at.astimezone(UTC).hour == 7  # CEST
    assert winter.sessions[0].starts_at.astimezone(UTC).hour == 8  # CET


def _times(start: str, end: str):
    return (datetime.strptime(start, "%H:%M").time(), datetime.strptime(end, "%H:%M").time())


def test_duplicate_refusals(make_edition, make_user):
    edition = make_edition(days=(30,))
    _refused(lambda: editions.duplicate_edition(edition, in_days(30)), "andere startdatum")
    _refused(lambda: editions.duplicate_edition(edition, in_days(-5)), "in het verleden")
    assert _count(Edition) == 1


def test_cancel_edition_and_copy_it_to_a_new_date(make_edition):
    edition = make_edition(days=(30, 31))
    cancelled = editions.cancel_edition(edition, "Te weinig aanmeldingen")
    db.session.commit()
    assert edition.status == "cancelled" and len(cancelled) == 2
    assert edition.cancel_reason == "Te weinig aanmeldingen"
    _refused(lambda: editions.cancel_edition(edition), "Alleen een geplande editie")
    _refused(lambda: editions.change_capacity(edition, 20), "geannuleerd of afgerond")
    again = editions.duplicate_edition(db.session.get(Edition, edition.id), in_days(60))
    assert len(again.active_sessions) == 2 and again.status == "scheduled"


def test_cancelled_edition_frees_its_trainer(make_edition, make_user):
    trainer = make_user("trainer")
    edition = make_edition(days=(30,), trainers=[trainer])
    assert trainers.trainer_conflicts(trainer, [_slot(30)])
    editions.cancel_edition(edition)
    assert trainers.trainer_conflicts(trainer, [_slot(30)]) == []


def test_set_trainer_bio(make_user):
    trainer = make_user("trainer")
    trainers.set_trainer_bio(trainer, "  Ervaren begeleider.  ")
    assert trainer.bio == "Ervaren begeleider."
    _refused(lambda: trainers.set_trainer_bio(make_user("client"), "x"), "geen trainer")


def test_now_parameter_is_respected(make_course):
    course = make_course(delivery="open")
    future = datetime.now(UTC) + timedelta(days=400)
    _refused(
        lambda: editions.schedule_edition(
            course, EditionInput(capacity=5, slots=[_slot(30)], location="U"), now=future
        ),
        "in het verleden",
    )
