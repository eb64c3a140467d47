"""Factories for the alumni pool: qualifying courses, published alumni, clients."""

from datetime import date

import pytest

from bbtraining.extensions import db


@pytest.fixture
def make_course(make_course):
    """A training that qualifies for the alumni pool, without prices or phases; `title` first."""

    def factory(title: str | None = None, *, qualifies: bool = True):
        return make_course(
            title=title or "Training gespreksbegeleiders {n}",
            qualifies_for_alumni=qualifies,
            price_seat=None,
            price_inhouse=None,
            phases=(),
        )

    return factory


@pytest.fixture
def training(make_course):
    return make_course("Training gespreksbegeleiders")


@pytest.fixture
def make_specialisation():
    from bbtraining.alumni.services import save_specialisation

    def factory(name: str):
        spec = save_specialisation(name)
        db.session.commit()
        return spec

    return factory


@pytest.fixture
def make_alumnus(make_user, training):
    """A facilitator with a verified training and a profile, published unless told otherwise."""
    from bbtraining.alumni import services
    from bbtraining.bookings.attendance.qualifications import record_qualification

    def factory(
        name: str = "Alumnus",
        *,
        email: str | None = None,
        province: str = "utrecht",
        travel: tuple[str, ...] = (),
        languages: tuple[str, ...] = ("nl",),
        specialisations=(),
        tags: tuple[str, ...] = (),
        assemblies: int = 0,
        sessions: int = 0,
        years: int = 0,
        blocked: tuple[date, ...] = (),
        weekdays: tuple[int, ...] = (),
        headline: str = "",
        bio: str = "",
        courses=(),
        publish: bool = True,
        phone: str | None = None,
    ):
        user = make_user("facilitator", name=name, email=email)
        if phone:
            user.phone = phone
        for course in (training, *courses):
            record_qualification(user, course, source="admin")
        profile = services.save_profile(
            user,
            services.ProfileData(
                display_name=name,
                province=province,
                headline=headline,
                bio=bio,
                municipality="Ergens",
                travel_provinces=list(travel),
                languages=list(languages),
                specialisation_ids=[s.id for s in specialisations],
                tags=list(tags),
                assemblies_count=assemblies,
                sessions_count=sessions,
                years_experience=years,
                blocked_dates=list(blocked),
                weekdays=list(weekdays),
            ),
            today=date(2000, 1, 1),
        )
        if publish:
            services.publish_with_consent(profile, consent_given=True)
        db.session.commit()
        return profile

    return factory


@pytest.fixture
def make_client(make_user, make_organisation):
    def factory(name: str = "Griffier", organisation=None, phone: str | None = None, **kwargs):
        org = organisation or make_organisation()
        user = make_user("client", name=name, organisation=org, **kwargs)
        if phone:
            user.phone = phone
            db.session.commit()
        return user

    return factory
