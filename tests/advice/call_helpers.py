"""Helpers of the kennismakingsgesprek web tests: the booking form, the slots a page offers,
the invites in the outbox. Fixtures (make_advisor, make_call) are in tests/advice/conftest.py."""

import re
from datetime import UTC, datetime

from icalendar import Calendar
from sqlalchemy import func, select

from bbtraining.advice.models import AdviceCall
from bbtraining.auth.models import Organisation, User
from bbtraining.extensions import db
from tests.conftest import PASSWORD, outbox_to

SLOT = re.compile(r'name="slot" value="([0-9T:Z-]+)"')


def offered(page_html: str) -> list[str]:
    """The slot values a booking or manage page offers, in page order."""
    return SLOT.findall(page_html)


def as_utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def booking_form(slot: str, **overrides) -> dict:
    data = {
        "phase": "verkenning",
        "organisation_name": "Gemeente Zeist",
        "organisation_kind": "gemeente",
        "question": "Past een burgerberaad bij ons klimaatvraagstuk?",
        "mode": "online",
        "phone": "",
        "slot": slot,
        "tz": "Europe/Amsterdam",
        "contact_name": "Mila Jansen",
        "contact_email": "mila@zeist.example.nl",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def counts() -> tuple[int, int, int]:
    """(calls, users, organisations): what a refused booking must leave as it was."""
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (AdviceCall, User, Organisation)
    )


def invites(email: str) -> list[Calendar]:
    """The calendars mailed to `email`, oldest first."""
    return [Calendar.from_ical(m.calendar_ics) for m in outbox_to(email) if m.calendar_ics]


def event_of(calendar: Calendar):
    [event] = calendar.walk("VEVENT")
    return event


def summary(calendar: Calendar) -> tuple[str, str, int]:
    """(METHOD, UID, SEQUENCE) of a one-event calendar."""
    event = event_of(calendar)
    return str(calendar["METHOD"]), str(event["UID"]), int(event["SEQUENCE"])
