"""Factories for catalog tests: courses, editions with sessions, trainers.

Times are built in Europe/Amsterdam relative to today, so the editions are always upcoming.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from bbtraining.courses.models import AMSTERDAM, Course, Edition, TrainingSession
from bbtraining.extensions import db


def local(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=AMSTERDAM)


def in_days(days: int) -> date:
    return datetime.now(AMSTERDAM).date() + timedelta(days=days)


@pytest.fixture
def make_course():
    counter = {"n": 0}

    def factory(**overrides) -> Course:
        counter["n"] += 1
        values = {
            "slug": f"training-{counter['n']}",
            "title": f"Training {counter['n']}",
            "kind": "masterclass",
            "audience": "civil-servants",
            "delivery": "both",
            "summary": "Een korte omschrijving.",
            "description": "Een langere beschrijving.",
            "learning_goals": "Eerste doel\nTweede doel",
            "price_inhouse": Decimal("1000.00"),
            "price_seat": Decimal("500.00"),
            "published": True,
        }
        phases = overrides.pop("phases", ("voorbereiding",))
        values.update(overrides)
        course = Course(**values)
        course.phases = phases
        db.session.add(course)
        db.session.commit()
        return course

    return factory


@pytest.fixture
def make_edition(make_course):
    def factory(
        course: Course | None = None,
        *,
        days: tuple[int, ...] = (30,),
        start: str = "09:30",
        end: str = "16:30",
        capacity: int = 12,
        seats_taken: int = 0,
        trainers=(),
        location: str = "Utrecht, Stadhuis",
        **overrides,
    ) -> Edition:
        course = course or make_course(delivery="open")
        edition = Edition(
            course=course,
            capacity=capacity,
            seats_taken=seats_taken,
            location=location,
            trainers=list(trainers),
            **overrides,
        )
        lead = trainers[0] if trainers else None
        edition.sessions = [
            TrainingSession(
                course=course,
                starts_at=local(in_days(d), start),
                ends_at=local(in_days(d), end),
                location=location,
                trainer=lead,
            )
            for d in days
        ]
        db.session.add(edition)
        db.session.commit()
        return edition

    return factory


@pytest.fixture
def make_inhouse_session(make_course):
    """A session as an inhouse booking makes it: no edition, a trainer of its own."""

    def factory(trainer, day: int, start: str = "13:00", end: str = "17:00", course=None):
        course = course or make_course(delivery="inhouse", price_seat=None)
        session = TrainingSession(
            course=course,
            starts_at=local(in_days(day), start),
            ends_at=local(in_days(day), end),
            location="Gemeentehuis",
            trainer=trainer,
        )
        db.session.add(session)
        db.session.commit()
        return session

    return factory
