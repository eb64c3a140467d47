"""Fixtures for the attendance, completion and certificate tests.

Import the ones a module uses: `from tests.bookings.attendance.support import roster, ...`.
Until enrollments are merged, a plain-list provider stands in for them (as in
test_calendar_sync.py); its participants are shaped like enrollments: key "enrollment:<n>" and
a real user account.
"""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from bbtraining.bookings.sessions import participants
from bbtraining.courses.models import Course, Edition
from tests import factories

_course_numbers = itertools.count(1)


def make_course(**fields) -> Course:
    """A published facilitator training that qualifies for the alumni pool, unless told.

    Numbered apart from the `make_course` fixture (aanwezigheid-1, ...), so a test may use both.
    """
    return factories.course(next(_course_numbers), slug="aanwezigheid-{n}", **fields)


class Roster:
    """Who the stand-in provider lists, per session (None: every session)."""

    def __init__(self):
        self.people: list[tuple[int | None, participants.Participant]] = []
        self._n = 0

    def __call__(self, session):
        return [p for sid, p in self.people if sid is None or sid == session.id]

    def enroll(self, user, *, session=None) -> participants.Participant:
        self._n += 1
        person = participants.Participant(
            key=f"enrollment:{self._n}",
            email=user.email,
            name=user.name,
            user_id=user.id,
            locale=user.locale,
        )
        self.people.append((session.id if session is not None else None, person))
        return person

    def add(self, key: str, name: str, email: str, *, session=None, role="participant"):
        person = participants.Participant(key=key, email=email, name=name, role=role)
        self.people.append((session.id if session is not None else None, person))
        return person

    def remove(self, key: str) -> None:
        self.people = [(sid, p) for sid, p in self.people if p.key != key]


@pytest.fixture
def roster():
    provider = Roster()
    participants.register_provider(provider)
    yield provider
    participants._providers.remove(provider)


def _at(minutes_from_now: float) -> datetime:
    return (datetime.now(UTC) + timedelta(minutes=minutes_from_now)).replace(microsecond=0)


@pytest.fixture
def make_run():
    """An edition whose sessions start at the given offsets (minutes from now)."""

    def factory(
        *,
        trainer=None,
        starts=(-60,),
        minutes: int = 180,
        course=None,
        edition_trainers=(),
        **course_fields,
    ) -> Edition:
        begins = [_at(offset) for offset in starts]
        return factories.edition(
            course or make_course(**course_fields),
            [(begin, begin + timedelta(minutes=minutes)) for begin in begins],
            capacity=20,
            location="Utrecht",
            session_location="Utrecht, Stadhuis",
            trainers=edition_trainers,
            session_trainer=trainer,
        )

    return factory


@pytest.fixture
def make_lone_session():
    """A session without an edition, as an inhouse booking schedules them."""

    def factory(*, trainer=None, start: float = -60, minutes: int = 120, course=None, **fields):
        begin = _at(start)
        return factories.lone_session(
            course or make_course(delivery="inhouse", **fields),
            begin,
            begin + timedelta(minutes=minutes),
            trainer=trainer,
        )

    return factory


@pytest.fixture
def trainer(make_user):
    return make_user("trainer", email="trainer@example.nl", name="Tessa Trainer")


@pytest.fixture
def staff(make_user):
    return make_user("admin", email="beheer@example.nl", name="Bea Beheer")
