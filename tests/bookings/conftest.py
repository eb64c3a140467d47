from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bbtraining.courses.models import Course, Edition, TrainingSession
from bbtraining.extensions import db


@pytest.fixture
def make_course():
    counter = {"n": 0}

    def factory(**fields):
        counter["n"] += 1
        defaults = {
            "slug": f"training-{counter['n']}",
            "title": f"Training gespreksbegeleiding {counter['n']}",
            "kind": "facilitator-training",
            "audience": "facilitators",
            "delivery": "open",
            "price_seat": Decimal("495.00"),
            "price_inhouse": Decimal("1250.00"),
            "published": True,
            "qualifies_for_alumni": True,
        }
        course = Course(**{**defaults, **fields})
        course.phases = (
            fields.pop("phases", ["uitvoering"]) if "phases" in fields else ["uitvoering"]
        )
        db.session.add(course)
        db.session.commit()
        return course

    return factory


@pytest.fixture
def make_edition(make_course):
    def factory(
        course=None,
        *,
        capacity: int = 12,
        days: int = 2,
        start_in_days: int = 30,
        trainer=None,
        **fields,
    ):
        course = course or make_course()
        edition = Edition(course=course, capacity=capacity, location="Utrecht", **fields)
        first = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(
            days=start_in_days
        )
        for day in range(days):
            start = first + timedelta(days=day)
            edition.sessions.append(
                TrainingSession(
                    course=course,
                    starts_at=start,
                    ends_at=start + timedelta(hours=7),
                    location="Utrecht",
                    trainer=trainer,
                )
            )
        if trainer is not None:
            edition.trainers.append(trainer)
        db.session.add(edition)
        db.session.commit()
        return edition

    return factory
