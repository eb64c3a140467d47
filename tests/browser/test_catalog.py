"""A visitor narrows the catalog to a facilitator training and finds its next edition."""

import json
from decimal import Decimal

import pytest
from flask_babel import format_date

from bbtraining.courses.models import Course, Edition, TrainingSession
from bbtraining.extensions import db
from tests.courses.conftest import in_days, local

pytestmark = pytest.mark.browser


def _course(slug, title, kind, delivery, phases, **extra) -> Course:
    course = Course(
        slug=slug,
        title=title,
        kind=kind,
        audience=extra.pop("audience", "facilitators"),
        delivery=delivery,
        summary=f"Over {title.lower()}.",
        price_inhouse=Decimal("1500") if delivery != "open" else None,
        price_seat=Decimal("1195") if delivery != "inhouse" else None,
        published=True,
        **extra,
    )
    course.phases = phases
    db.session.add(course)
    return course


def _edition(course, days, seats_taken=0) -> Edition:
    edition = Edition(
        course=course, capacity=16, seats_taken=seats_taken, location="Zwolle, Stadshuis"
    )
    edition.sessions = [
        TrainingSession(
            course=course,
            starts_at=local(in_days(d), "09:30"),
            ends_at=local(in_days(d), "16:30"),
            location="Zwolle, Stadshuis",
        )
        for d in days
    ]
    db.session.add(edition)
    return edition


@pytest.fixture
def small_catalog():
    training = _course(
        "basistraining-gespreksbegeleider",
        "Basistraining gespreksbegeleider",
        "facilitator-training",
        "open",
        ("uitvoering",),
        learning_goals="Een tafel begeleiden\nStille deelnemers betrekken",
    )
    _course(
        "inspiratie",
        "Inspiratiesessie voor de raad",
        "inspiratiesessie",
        "inhouse",
        ("verkenning",),
        audience="council",
    )
    _course(
        "masterclass",
        "Masterclass communicatie",
        "masterclass",
        "both",
        ("uitvoering",),
        audience="communication",
    )
    later = _edition(training, (60, 61), seats_taken=2)
    first = _edition(training, (25, 26, 32), seats_taken=14)
    db.session.commit()
    return training, first, later


def test_visitor_filters_to_facilitator_training_and_sees_next_edition(page, small_catalog):
    training, first, later = small_catalog
    problems = []
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(page.base_url + "/")
    page.get_by_role("link", name="Alle trainingen bekijken").click()
    page.wait_for_url("**/courses/")
    assert page.locator(".course-card").count() == 3

    kind = page.get_by_label("Soort")
    assert kind.bounding_box()["width"] > 150  # a readable column, not squeezed into a row
    kind.select_option(label="Training gespreksbegeleiders")
    page.get_by_label("Fase van het burgerberaad").select_option(label="Uitvoering")
    page.get_by_role("button", name="Toon trainingen").click()
    page.wait_for_url("**kind=facilitator-training**")
    assert "phase=uitvoering" in page.url  # shareable: the filters live in the URL
    cards = page.locator(".course-card")
    assert cards.count() == 1
    assert page.get_by_role("heading", name="1 training").is_visible()

    cards.get_by_role("link", name="Basistraining gespreksbegeleider").click()
    page.wait_for_url("**/courses/basistraining-gespreksbegeleider")
    assert page.get_by_role(
        "heading", level=1, name="Basistraining gespreksbegeleider"
    ).is_visible()
    next_edition = page.locator(f"#editie-{first.id}")
    assert next_edition.get_by_role("heading", name="Eerstvolgende editie").is_visible()
    first_day = format_date(first.sessions[0].starts_at, "EEEE d MMMM y")
    assert first_day in next_edition.inner_text()
    assert "Nog 2 plaatsen" in next_edition.inner_text()
    enroll = next_edition.get_by_role("button", name="Inschrijven")
    assert enroll.get_attribute("href") == f"/editions/{first.id}/enroll"
    # The later edition comes after the first one.
    assert page.locator(".edition").first.get_attribute("id") == f"editie-{first.id}"

    data = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert data["@type"] == "Course" and len(data["hasCourseInstance"]) == 2
    # The JSON-LD block is data, not script: the CSP (script-src 'self') has nothing to block.
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_course_page_fits_a_phone(phone_page, small_catalog):
    phone_page.goto(phone_page.base_url + "/courses/basistraining-gespreksbegeleider")
    assert phone_page.get_by_role("heading", name="Eerstvolgende editie").is_visible()
    overflow = phone_page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    phone_page.goto(phone_page.base_url + "/courses/?kind=chair-sparring")
    assert phone_page.get_by_text("Geen trainingen gevonden").is_visible()
    # On a phone the filters start folded so the results come first; one tap opens them.
    assert not phone_page.get_by_label("Soort").is_visible()
    phone_page.get_by_text("Filters en zoeken (1)").click()
    assert phone_page.get_by_label("Soort").input_value() == "chair-sparring"
    phone_page.get_by_role("link", name="Zonder Sparring voor de voorzitter").click()
    phone_page.wait_for_url("**/courses/")
    assert phone_page.locator(".course-card").count() == 3
