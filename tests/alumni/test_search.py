"""Search correctness: every filter, combinations, text, visibility rules; on SQLite and
PostgreSQL alike (the suite runs on both)."""

from datetime import date, timedelta

import pytest

from bbtraining.alumni import search, services
from bbtraining.alumni.models import AlumniProfile
from bbtraining.db_types import utcnow
from bbtraining.errors import DomainError
from bbtraining.extensions import db


def names(criteria=None, **kwargs) -> list[str]:
    criteria = criteria or search.SearchCriteria(**kwargs)
    return [p.display_name for p in search.search(criteria, with_map=False).profiles]


@pytest.fixture
def pool(make_alumnus, make_specialisation, make_course):
    """A small pool with known answers to every filter."""
    youth = make_specialisation("Jongeren")
    climate = make_specialisation("Klimaat en energie")
    masterclass = make_course("Masterclass voorzitters", qualifies=False)
    d = date(2031, 3, 14)
    return {
        "youth": youth,
        "climate": climate,
        "masterclass": masterclass,
        "day": d,
        "anna": make_alumnus(
            "Anna Utrecht",
            province="utrecht",
            travel=("gelderland",),
            languages=("nl", "ar"),
            specialisations=(youth,),
            tags=("jongeren",),
            assemblies=6,
            sessions=40,
            years=8,
            headline="Jongerenberaden en meertalige tafels",
            bio="Ik begeleid gesprekken met jongeren over klimaat.",
            courses=(masterclass,),
        ),
        "bram": make_alumnus(
            "Bram Gelderland",
            province="gelderland",
            languages=("nl", "de"),
            specialisations=(climate,),
            tags=("energie",),
            assemblies=2,
            sessions=10,
            years=3,
            headline="Klimaatberaden in Gelderland",
            bio="Ervaring met de energietransitie en windmolens.",
            blocked=(d,),
        ),
        "cato": make_alumnus(
            "Cato Limburg",
            province="limburg",
            travel=("noord-brabant", "utrecht"),
            languages=("nl", "fr", "de"),
            assemblies=0,
            years=1,
            headline="Nieuw in het vak",
            bio="Beraden in de grensregio, over mobiliteit.",
            blocked=(d + timedelta(days=7),),
        ),
    }


def test_every_published_profile_is_found_ordered_by_experience(pool):
    assert names() == ["Anna Utrecht", "Bram Gelderland", "Cato Limburg"]


def test_province_covers_home_and_travel_with_residents_first(pool):
    assert names(province="utrecht") == ["Anna Utrecht", "Cato Limburg"]
    assert names(province="gelderland") == ["Bram Gelderland", "Anna Utrecht"]
    assert names(province="noord-brabant") == ["Cato Limburg"]
    assert names(province="zeeland") == []


def test_languages_must_all_be_spoken(pool):
    assert names(languages=["de"]) == ["Bram Gelderland", "Cato Limburg"]
    assert names(languages=["de", "fr"]) == ["Cato Limburg"]
    assert names(languages=["ar"]) == ["Anna Utrecht"]
    assert names(languages=["ar", "de"]) == []


def test_specialisation_and_tag(pool):
    assert names(specialisation=pool["youth"].slug) == ["Anna Utrecht"]
    assert names(specialisation=pool["climate"].slug) == ["Bram Gelderland"]
    assert names(tag="energie") == ["Bram Gelderland"]
    assert names(tag="onbekend") == []


def test_minimum_experience(pool):
    assert names(min_assemblies=2) == ["Anna Utrecht", "Bram Gelderland"]
    assert names(min_assemblies=3) == ["Anna Utrecht"]
    assert names(min_years=3) == ["Anna Utrecht", "Bram Gelderland"]
    assert names(min_years=9) == []


def test_available_on_every_listed_date(pool):
    day = pool["day"]
    assert names(dates=[day]) == ["Anna Utrecht", "Cato Limburg"]
    assert names(dates=[day + timedelta(days=7)]) == ["Anna Utrecht", "Bram Gelderland"]
    assert names(dates=[day, day + timedelta(days=7)]) == ["Anna Utrecht"]
    assert names(dates=[day + timedelta(days=1)]) == [
        "Anna Utrecht",
        "Bram Gelderland",
        "Cato Limburg",
    ]


def test_available_over_a_date_range(pool):
    day = pool["day"]
    assert names(date_from=day - timedelta(days=1), date_to=day + timedelta(days=1)) == [
        "Anna Utrecht",
        "Cato Limburg",
    ]
    assert names(date_from=day, date_to=day + timedelta(days=7)) == ["Anna Utrecht"]
    assert names(date_from=day + timedelta(days=1), date_to=day + timedelta(days=6)) == [
        "Anna Utrecht",
        "Bram Gelderland",
        "Cato Limburg",
    ]


def test_verified_training(pool, training):
    assert names(course_id=pool["masterclass"].id) == ["Anna Utrecht"]
    assert len(names(course_id=training.id)) == 3


def test_text_search_over_headline_and_bio(pool):
    assert names(q="klimaat") == ["Bram Gelderland", "Anna Utrecht"] or names(q="klimaat") == [
        "Anna Utrecht",
        "Bram Gelderland",
    ]
    assert names(q="windmolens") == ["Bram Gelderland"]
    assert names(q="grensregio mobiliteit") == ["Cato Limburg"]
    assert names(q="meertalige") == ["Anna Utrecht"]
    assert names(q="grensregio klimaat") == []
    assert names(q="!!!") == ["Anna Utrecht", "Bram Gelderland", "Cato Limburg"]


def test_text_search_ranks_headline_matches_by_relevance(make_alumnus):
    make_alumnus("Zijdelings", headline="Algemeen", bio="Soms over klimaat.", assemblies=9)
    make_alumnus(
        "Specialist", headline="Klimaat klimaat", bio="Klimaatberaden en klimaat.", assemblies=1
    )
    assert names(q="klimaat")[0] == "Specialist"


def test_combined_filters(pool):
    day = pool["day"]
    assert names(province="utrecht", languages=["de"]) == ["Cato Limburg"]
    assert names(province="gelderland", dates=[day]) == ["Anna Utrecht"]
    assert names(province="gelderland", dates=[day], q="jongeren", min_assemblies=5) == [
        "Anna Utrecht"
    ]
    assert names(province="gelderland", languages=["de"], q="windmolens", min_years=3) == [
        "Bram Gelderland"
    ]
    assert names(province="limburg", specialisation=pool["youth"].slug) == []


def test_province_counts_ignore_the_province_filter_and_count_travel(pool):
    criteria = search.SearchCriteria(province="limburg", languages=["nl"])
    counts = search.province_counts(criteria)
    assert counts["utrecht"] == 2  # Anna lives there, Cato travels there
    assert counts["gelderland"] == 2
    assert counts["limburg"] == 1
    assert counts["noord-brabant"] == 1
    assert counts["zeeland"] == 0
    assert len(counts) == 12
    day_counts = search.province_counts(search.SearchCriteria(dates=[pool["day"]]))
    assert day_counts["gelderland"] == 1  # Bram is blocked that day; Anna travels there


def test_pagination(make_alumnus, app):
    for i in range(5):
        make_alumnus(f"Alumnus {i}", assemblies=10 - i)
    first = search.search(search.SearchCriteria(), page=1, per_page=2)
    third = search.search(search.SearchCriteria(), page=3, per_page=2)
    assert [p.display_name for p in first.profiles] == ["Alumnus 0", "Alumnus 1"]
    assert [p.display_name for p in third.profiles] == ["Alumnus 4"]
    assert first.total == 5 and first.pages == 3
    assert search.search(search.SearchCriteria(), page=9, per_page=2).profiles == []


# -- who is in the pool at all -----------------------------------------------------------------
def test_no_consent_no_search(make_alumnus):
    make_alumnus("Zonder toestemming", publish=False)
    make_alumnus("Met toestemming")
    assert names() == ["Met toestemming"]


def test_publishing_without_consent_is_refused(make_alumnus):
    from bbtraining.errors import DomainError

    profile = make_alumnus("Twijfel", publish=False)
    with pytest.raises(DomainError, match="toestemming"):
        services.publish_with_consent(profile, consent_given=False)
    with pytest.raises(DomainError, match="toestemming"):
        profile.publish()
    db.session.rollback()
    assert names() == []


def test_unpublished_profile_drops_out_and_consent_is_withdrawn(make_alumnus):
    profile = make_alumnus("Weg")
    services.unpublish(profile)
    db.session.commit()
    assert names() == []
    assert profile.consented_at is None


def test_unconfirmed_for_twelve_months_drops_out(make_alumnus):
    stale = make_alumnus("Oud")
    fresh = make_alumnus("Vers")
    stale.confirmed_at = utcnow() - timedelta(days=366)
    fresh.confirmed_at = utcnow() - timedelta(days=360)
    db.session.commit()
    assert names() == ["Vers"]
    assert search.province_counts(search.SearchCriteria())["utrecht"] == 1
    services.confirm(stale)
    db.session.commit()
    assert sorted(names()) == ["Oud", "Vers"]


def test_hidden_by_staff_drops_out(make_alumnus, make_user):
    admin = make_user("admin")
    profile = make_alumnus("Verborgen")
    make_alumnus("Zichtbaar")
    services.hide(profile, "Klacht van een opdrachtgever", admin)
    db.session.commit()
    assert names() == ["Zichtbaar"]
    services.unhide(profile, admin)
    db.session.commit()
    assert sorted(names()) == ["Verborgen", "Zichtbaar"]


def test_deleted_or_deactivated_accounts_drop_out(make_alumnus):
    profile = make_alumnus("Gestopt")
    profile.user.is_active_account = False
    db.session.commit()
    assert names() == []


def test_invalid_criteria_are_refused_in_dutch(pool):
    from bbtraining.errors import DomainError

    for criteria, message in (
        (search.SearchCriteria(province="atlantis"), "Onbekende provincie"),
        (search.SearchCriteria(languages=["xx"]), "Onbekende taal"),
        (search.SearchCriteria(specialisation="nope"), "Onbekende specialisatie"),
        (
            search.SearchCriteria(date_from=date(2031, 1, 2), date_to=date(2031, 1, 1)),
            "einddatum",
        ),
        (
            search.SearchCriteria(date_from=date(2031, 1, 1), date_to=date(2032, 6, 1)),
            "hooguit een jaar",
        ),
    ):
        with pytest.raises(DomainError, match=message):
            search.search(criteria)


def test_profile_search_rows_never_hold_contact_details():
    columns = set(AlumniProfile.__table__.columns.keys())
    assert not columns & {"email", "phone", "address", "telephone"}


def test_province_pages_run_from_residents_into_travellers(make_alumnus):
    for i in range(3):
        make_alumnus(f"Bewoner {i}", province="zeeland", assemblies=1 + i)
    make_alumnus("Reiziger 0", province="utrecht", travel=("zeeland",), assemblies=50)
    make_alumnus("Reiziger 1", province="limburg", travel=("zeeland",), assemblies=40)
    make_alumnus("Elders", province="limburg", assemblies=99)
    criteria = search.SearchCriteria(province="zeeland")
    pages = [
        [p.display_name for p in search.search(criteria, page=n, per_page=2).profiles]
        for n in (1, 2, 3, 4)
    ]
    assert pages == [
        ["Bewoner 2", "Bewoner 1"],
        ["Bewoner 0", "Reiziger 0"],
        ["Reiziger 1"],
        [],
    ]
    assert search.search(criteria, per_page=2).total == 5


# -- preferred weekdays (issue #18, item 4) ---------------------------------------------------
@pytest.fixture
def week_pool(make_alumnus):
    return [
        make_alumnus("Ma-di-za", weekdays=(0, 1, 5), assemblies=3),
        make_alumnus("Alleen zaterdag", weekdays=(5,), assemblies=2),
        make_alumnus("Geen voorkeur", assemblies=1),
    ]


def test_weekdays_filter_keeps_those_who_prefer_every_chosen_day(week_pool):
    assert names(weekdays=[5]) == ["Ma-di-za", "Alleen zaterdag"]
    assert names(weekdays=[0, 5]) == ["Ma-di-za"]
    assert names(weekdays=[0, 1, 5]) == ["Ma-di-za"]
    assert names(weekdays=[6]) == []
    assert names(weekdays=[]) == ["Ma-di-za", "Alleen zaterdag", "Geen voorkeur"]


def test_weekdays_filter_counts_and_combines_with_other_filters(week_pool):
    page = search.search(search.SearchCriteria(weekdays=[5]))
    assert page.total == 2 and sum(page.province_counts.values()) >= 2
    assert names(weekdays=[5], min_assemblies=3) == ["Ma-di-za"]
    assert names(weekdays=[5], province="zeeland") == []


@pytest.mark.parametrize("bad", [[7], [-1], [0, 8]])
def test_unknown_weekday_is_refused(week_pool, bad):
    with pytest.raises(DomainError, match="Onbekende dag van de week"):
        search.search(search.SearchCriteria(weekdays=bad))
