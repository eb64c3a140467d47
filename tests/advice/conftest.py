"""Advice fixtures: advisors with their hours, and calls placed straight in their diary.

`make_advisor` gives a committed advisor (a user with the adviseur role and a profile) with
weekly hours, Monday to Friday 09:00-12:00 and 13:00-17:00 unless told; `make_call` writes a
call row as the booking service would leave it, for tests of what comes after booking.
"""

from datetime import datetime, time, timedelta

import pytest

from bbtraining.advice.models import AdviceCall, AdvisorHours, AdvisorProfile
from bbtraining.extensions import db

OFFICE_HOURS = tuple(
    (weekday, start, end)
    for weekday in range(5)
    for start, end in (("09:00", "12:00"), ("13:00", "17:00"))
)


@pytest.fixture
def make_advisor(make_user):
    def factory(*, user=None, hours=OFFICE_HOURS, name: str | None = None, **rules):
        user = user or make_user("advisor", name=name)
        profile = AdvisorProfile(user=user, **rules)
        for weekday, starts, ends in hours:
            profile.hours.append(
                AdvisorHours(
                    weekday=weekday,
                    starts=time.fromisoformat(starts),
                    ends=time.fromisoformat(ends),
                )
            )
        db.session.add(profile)
        db.session.commit()
        return profile

    return factory


@pytest.fixture
def make_call(make_user, make_organisation):
    def factory(advisor: AdvisorProfile, starts_at: datetime, *, status="booked", **fields):
        organisation = fields.pop("organisation", None) or make_organisation()
        requester = fields.pop("requester", None) or make_user("client", organisation=organisation)
        ends_at = starts_at + timedelta(minutes=advisor.call_minutes)
        call = AdviceCall(
            advisor=advisor,
            organisation=organisation,
            requester=requester,
            starts_at=starts_at,
            ends_at=ends_at,
            blocked_from=starts_at - timedelta(minutes=advisor.buffer_before_minutes),
            blocked_until=ends_at + timedelta(minutes=advisor.buffer_after_minutes),
            mode=fields.pop("mode", "online"),
            phase=fields.pop("phase", "verkenning"),
            organisation_name_given=organisation.name,
            question=fields.pop("question", "Hoe beginnen we?"),
            status=status,
            **fields,
        )
        db.session.add(call)
        db.session.commit()
        return call

    return factory
