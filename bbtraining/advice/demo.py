"""Demo advisors and kennismakingsgesprekken (safe to run again: nothing is duplicated).

Marieke Hoekstra (adviseur@example.nl) keeps Monday to Thursday 09:00-12:00 and 13:00-17:00;
Joost Bakker, the demo trainer, also advises on Friday mornings, and his trainings keep those
free by themselves. Marieke has a call booked next week, one held last week with its outcome,
and one the client missed.
"""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from ..auth.demo import DEMO_PASSWORD
from ..auth.models import Role, User
from ..courses.models import AMSTERDAM, Course
from ..db_types import utcnow
from ..extensions import db
from .advisors import make_advisor
from .availability import free_slots
from .calls import book_call
from .models import AdviceCall, AdvisorHours, CallStatus, NextStep

# Printed by `flask seed-demo` with the other demo accounts.
DEMO_EXTRA_ACCOUNTS = (("adviseur@example.nl", "Marieke Hoekstra", ("advisor",), None),)
MARIEKE_HOURS = tuple(
    (weekday, start, end)
    for weekday in range(4)
    for start, end in ((time(9), time(12)), (time(13), time(17)))
)
JOOST_HOURS = ((4, time(9), time(12)),)


def _advisor(email: str, name: str, hours, meeting_url: str):
    user = User.by_email(email)
    if user is None:
        user = User(email=email, name=name)
        user.set_password(DEMO_PASSWORD)
        user.mark_email_verified()
        db.session.add(user)
        db.session.flush()
    user.add_role(Role.ADVISOR)
    profile = make_advisor(user)
    if not profile.hours:
        profile.hours = [AdvisorHours(weekday=d, starts=s, ends=e) for d, s, e in hours]
        profile.meeting_url = meeting_url
    db.session.flush()
    return profile


def _past_call(profile, client: User, days_ago: int, status: str, **outcome) -> AdviceCall:
    day = datetime.now(AMSTERDAM).date() - timedelta(days=days_ago)
    while day.weekday() > 3:  # on one of Marieke's days
        day -= timedelta(days=1)
    starts_at = datetime.combine(day, time(10), tzinfo=AMSTERDAM).astimezone(UTC)
    ends_at = starts_at + timedelta(minutes=profile.call_minutes)
    call = AdviceCall(
        advisor=profile,
        organisation=client.organisation,
        requester=client,
        starts_at=starts_at,
        ends_at=ends_at,
        blocked_from=starts_at - timedelta(minutes=profile.buffer_before_minutes),
        blocked_until=ends_at + timedelta(minutes=profile.buffer_after_minutes),
        mode="online",
        video_url=profile.meeting_url,
        phase="verkenning",
        organisation_name_given=client.organisation.name,
        question=outcome.pop("question"),
        status=status,
        created_at=starts_at - timedelta(days=7),
        **outcome,
    )
    db.session.add(call)
    return call


def seed() -> None:
    marieke = _advisor(
        "adviseur@example.nl",
        "Marieke Hoekstra",
        MARIEKE_HOURS,
        "https://meet.example.nl/marieke-hoekstra",
    )
    _advisor("trainer@example.nl", "Joost Bakker", JOOST_HOURS, "https://meet.example.nl/joost")
    if db.session.scalar(select(AdviceCall.id).where(AdviceCall.advisor_id == marieke.id)):
        return
    clerk = User.by_email("griffie@example.nl")
    project_lead = User.by_email("projectleider@example.nl")
    if clerk is None or project_lead is None:
        return

    courses = [
        c
        for c in db.session.scalars(select(Course).order_by(Course.id))
        if "verkenning" in c.phases
    ]
    held = _past_call(
        marieke,
        project_lead,
        8,
        CallStatus.HELD,
        question="Wij willen in 2027 een burgerberaad over de energietransitie. Waar beginnen we?",
        outcome_notes="Opdracht van PS is er; nog geen budget voor onafhankelijke begeleiding. "
        "Griffie en ambtelijke organisatie samen meenemen.",
        outcome_phase="voorbereiding",
        next_step=NextStep.COURSES,
        outcome_recorded_at=utcnow() - timedelta(days=7),
    )
    held.suggested_courses = courses[:2]
    _past_call(
        marieke,
        clerk,
        3,
        CallStatus.NO_SHOW,
        question="Wat kost een burgerberaad voor een gemeente van onze omvang?",
    )
    now = utcnow()
    first_day = (now + timedelta(days=3)).astimezone(AMSTERDAM).date()
    slots = free_slots(marieke, first_day, first_day + timedelta(days=14), now=now)
    if slots:
        book_call(
            requester=clerk,
            organisation=clerk.organisation,
            starts_at=slots[min(2, len(slots) - 1)].starts_at,
            mode="online",
            phone=None,
            phase="verkenning",
            question="De raad wil een burgerberaad over het nieuwe centrumplan. Hoe pakken "
            "andere gemeenten de loting aan?",
            organisation_name_given="Gemeente Utrecht",
            time_zone="Europe/Amsterdam",
            advisor=marieke,
            now=now,
        )
    db.session.flush()
