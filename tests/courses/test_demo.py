"""The demo catalog that `make run` loads: complete enough to browse, and idempotent."""

from sqlalchemy import func, select

from bbtraining.auth.models import Organisation, User
from bbtraining.courses import catalog, demo
from bbtraining.courses.models import Audience, Course, CourseKind, Edition, Phase, TrainingSession
from bbtraining.db_types import utcnow
from bbtraining.extensions import db


def _counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Course, Edition, TrainingSession, Organisation, User)
    )


def test_seed_is_idempotent():
    demo.seed()
    db.session.commit()
    first = _counts()
    demo.seed()
    db.session.commit()
    assert _counts() == first
    assert first[0] >= 8 and first[1] >= 4


def test_every_kind_phase_and_audience_filter_returns_courses(client):
    demo.seed()
    db.session.commit()
    for name, values in (("kind", CourseKind), ("phase", Phase), ("audience", Audience)):
        for value in values:
            filters = catalog.CatalogFilters.from_args({name: value.value})
            assert catalog.search_courses(filters), f"{name}={value.value} is empty"
            assert client.get(f"/courses/?{name}={value.value}").status_code == 200
    inhouse = catalog.search_courses(catalog.CatalogFilters(delivery="inhouse"))
    assert len(inhouse) >= 4


def test_demo_editions_are_upcoming_multi_day_and_seatless_until_enrolled(client):
    demo.seed()
    db.session.commit()
    editions = list(db.session.scalars(catalog.upcoming_editions_query()))
    assert len(editions) >= 4
    starts = sorted(e.starts_at for e in editions)
    assert (starts[-1] - starts[0]).days > 60  # spread over the coming months
    assert starts[0] > utcnow()
    assert any(len(e.active_sessions) > 1 for e in editions)
    # No seat without a participant: enrollments fill them (tests/core/test_demo_day.py).
    assert all(e.seats_taken == 0 for e in editions)
    for edition in editions:
        assert edition.trainers and all(t.bio for t in edition.trainers)
        for session in edition.active_sessions:
            local = session.local_start
            assert not (local.month == 12 and local.day >= 20), "no training at Christmas"


def test_every_demo_course_page_renders(client):
    demo.seed()
    db.session.commit()
    for course in db.session.scalars(select(Course)):
        response = client.get(f"/courses/{course.slug}")
        assert response.status_code == (200 if course.published else 404), course.slug
    page = client.get("/").get_data(as_text=True)
    for phase in Phase:
        section = page.split(f'id="fase-{phase.value}"', 1)[1].split("</article>", 1)[0]
        assert section.count("<li>") >= 2, phase
