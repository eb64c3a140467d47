"""The catalog tests' defaults for the one set of factories (tests/factories.py): masterclasses,
and editions whose sessions are given as days from today at local times (Europe/Amsterdam), so
they are always upcoming. `in_days` and `local` are imported from here by the catalog tests.
"""

from decimal import Decimal

import pytest

from tests import factories
from tests.factories import in_days, local

# The catalog tests' course: a masterclass for civil servants, inhouse and open, with its texts.
MASTERCLASS = {
    "title": "Training {n}",
    "kind": "masterclass",
    "audience": "civil-servants",
    "delivery": "both",
    "summary": "Een korte omschrijving.",
    "description": "Een langere beschrijving.",
    "learning_goals": "Eerste doel\nTweede doel",
    "price_inhouse": Decimal("1000.00"),
    "price_seat": Decimal("500.00"),
    "qualifies_for_alumni": False,
    "phases": ("voorbereiding",),
}


@pytest.fixture
def make_course(make_course):
    def factory(**overrides):
        return make_course(**{**MASTERCLASS, **overrides})

    return factory


@pytest.fixture
def make_edition(make_course):
    """An edition with a session on each of `days` (days from today), `start`-`end` in Amsterdam;
    the first of `trainers` leads the sessions."""

    def factory(
        course=None,
        *,
        days: tuple[int, ...] = (30,),
        start: str = "09:30",
        end: str = "16:30",
        capacity: int = 12,
        trainers=(),
        location: str = "Utrecht, Stadhuis",
        **overrides,
    ):
        return factories.edition(
            course or make_course(delivery="open"),
            [(local(in_days(day), start), local(in_days(day), end)) for day in days],
            capacity=capacity,
            location=location,
            trainers=trainers,
            session_trainer=trainers[0] if trainers else None,
            **overrides,
        )

    return factory


@pytest.fixture
def make_inhouse_session(make_course):
    """A session as an inhouse booking makes it: no edition, a trainer of its own."""

    def factory(trainer, day: int, start: str = "13:00", end: str = "17:00", course=None):
        return factories.lone_session(
            course or make_course(delivery="inhouse", price_seat=None),
            local(in_days(day), start),
            local(in_days(day), end),
            trainer=trainer,
        )

    return factory
