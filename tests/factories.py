"""The one set of catalog factories: courses, editions with their sessions, lone sessions.

Plain functions; tests/conftest.py hands them out as the fixtures `make_course` and
`make_edition`. A test folder that wants other defaults overrides that fixture in its conftest.py
and passes its defaults to these functions; nothing else builds a course or an edition by hand.
Each function commits, as the page that creates the row would.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bbtraining.courses.models import AMSTERDAM, Course, Edition, TrainingSession
from bbtraining.extensions import db

# What most tests book: a published, open training for facilitators that qualifies them for the
# alumni pool.
FACILITATOR_TRAINING = {
    "kind": "facilitator-training",
    "audience": "facilitators",
    "delivery": "open",
    "price_seat": Decimal("495.00"),
    "price_inhouse": Decimal("1250.00"),
    "published": True,
    "qualifies_for_alumni": True,
}


def course(
    number: int,
    *,
    slug: str = "training-{n}",
    title: str = "Training gespreksbegeleiding {n}",
    phases: Iterable[str] = ("uitvoering",),
    **fields,
) -> Course:
    """A facilitator training unless `fields` say otherwise.

    `{n}` in the slug and title becomes `number`, which the caller counts so that slugs stay
    unique.
    """
    made = Course(
        slug=slug.replace("{n}", str(number)),
        title=title.replace("{n}", str(number)),
        **{**FACILITATOR_TRAINING, **fields},
    )
    made.phases = phases
    db.session.add(made)
    db.session.commit()
    return made


# -- when sessions take place ----------------------------------------------------------------------
def in_days(days: int) -> date:
    """The date `days` from today in Amsterdam."""
    return datetime.now(AMSTERDAM).date() + timedelta(days=days)


def local(day: date, hhmm: str) -> datetime:
    """`hhmm` on `day` in Amsterdam."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=AMSTERDAM)


def daily(count: int, *, from_day: int = 30, hours: int = 7) -> list[tuple[datetime, datetime]]:
    """(start, end) of `count` sessions on consecutive days from `from_day` days from now,
    from 08:00 UTC for `hours` hours."""
    first = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    first += timedelta(days=from_day)
    return [
        (first + timedelta(days=day), first + timedelta(days=day, hours=hours))
        for day in range(count)
    ]


# -- editions and sessions -------------------------------------------------------------------------
def edition(
    of: Course,
    times: Iterable[tuple[datetime, datetime]],
    *,
    capacity: int = 12,
    location: str = "Utrecht",
    session_location: str | None = None,
    trainers: Iterable = (),
    session_trainer=None,
    **fields,
) -> Edition:
    """An edition of `of` with one session per (start, end).

    `trainers` are the edition's trainers; `session_trainer` leads every session (one of them, or
    someone else, or nobody). Sessions are held at `session_location`, else where the edition is.
    """
    made = Edition(
        course=of, capacity=capacity, location=location, trainers=list(trainers), **fields
    )
    for starts_at, ends_at in times:
        made.sessions.append(
            TrainingSession(
                course=of,
                starts_at=starts_at,
                ends_at=ends_at,
                location=session_location or location,
                trainer=session_trainer,
            )
        )
    db.session.add(made)
    db.session.commit()
    return made


def lone_session(
    of: Course, starts_at: datetime, ends_at: datetime, *, trainer=None, location="Gemeentehuis"
) -> TrainingSession:
    """A session without an edition, as an inhouse booking schedules it."""
    made = TrainingSession(
        course=of, starts_at=starts_at, ends_at=ends_at, location=location, trainer=trainer
    )
    db.session.add(made)
    db.session.commit()
    return made
